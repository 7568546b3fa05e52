package eigen

import "math"

// The secular equation of divide and conquer: the eigenvalues of diag(d) + rho z z^T are the
// roots of f(x) = 1/rho + sum_j z_j^2/(d_j - x). laed4, laed5 and laed6 follow the reference
// LAPACK routines DLAED4, DLAED5 and DLAED6 (netlib LAPACK 3, modified BSD licence) step by
// step, indices moved to 0-based, with the same grouping of every product: the rational
// interpolation, its safeguards and the stopping tests are LAPACK's, and so are the roots, to
// the bit (checked against LAPACK 3.11's dlaed4 through cgo, with its older overshoot fallback
// emulated; the fallback here is reference LAPACK's of February 2026).

// laed4 computes the i-th (0-based) of the n roots of the secular equation for d strictly
// increasing, z without zeros and rho > 0, returning the root. On return delta[j] = d[j] -
// root, the differences from which the eigenvector is formed (for n = 2, the normalised
// eigenvector itself; for n = 1, 1). ok is false when the iteration did not converge.
func laed4(n, i int, d, z, delta []float64, rho float64) (dlam float64, ok bool) {
	const maxit = 30
	if n == 1 {
		delta[0] = 1
		return d[0] + rho*z[0]*z[0], true
	}
	if n == 2 {
		return laed5(i, d, z, delta, rho), true
	}
	eps := 0x1p-53
	rhoinv := 1 / rho

	if i == n-1 {
		// The largest root, in (d[n-1], d[n-1] + rho).
		ii := n - 2
		midpt := rho / 2
		for j := 0; j < n; j++ {
			delta[j] = (d[j] - d[i]) - midpt
		}
		psi := 0.0
		for j := 0; j < n-2; j++ {
			psi += z[j] * z[j] / delta[j]
		}
		c := rhoinv + psi
		w := c + z[ii]*z[ii]/delta[ii] + z[n-1]*z[n-1]/delta[n-1]
		// quadratic: the root of the two-pole model through the last two poles (DLAED4's
		// initial guess, in its stable form for either sign of a).
		quadratic := func() float64 {
			del := d[n-1] - d[n-2]
			a := -c*del + z[n-2]*z[n-2] + z[n-1]*z[n-1]
			b := z[n-1] * z[n-1] * del
			if a < 0 {
				return 2 * b / (math.Sqrt(a*a+4*b*c) - a)
			}
			return (a + math.Sqrt(a*a+4*b*c)) / (2 * c)
		}
		var tau, dltlb, dltub float64
		if w <= 0 {
			temp := z[n-2]*z[n-2]/(d[n-1]-d[n-2]+rho) + z[n-1]*z[n-1]/rho
			if c <= temp {
				tau = rho
			} else {
				tau = quadratic()
			}
			dltlb, dltub = midpt, rho
		} else {
			tau = quadratic()
			dltlb, dltub = 0, midpt
		}
		for j := 0; j < n; j++ {
			delta[j] = (d[j] - d[i]) - tau
		}
		// psi, phi, their derivatives and the error bound at tau.
		eval := func() (psi, dpsi, phi, dphi, erretm, w float64) {
			for j := 0; j <= ii; j++ {
				temp := z[j] / delta[j]
				psi += z[j] * temp
				dpsi += temp * temp
				erretm += psi
			}
			erretm = math.Abs(erretm)
			temp := z[n-1] / delta[n-1]
			phi = z[n-1] * temp
			dphi = temp * temp
			erretm = 8*(-phi-psi) + erretm - phi + rhoinv + math.Abs(tau)*(dpsi+dphi)
			w = rhoinv + phi + psi
			return
		}
		_, dpsi, _, dphi, erretm, w := eval()
		if math.Abs(w) <= eps*erretm {
			return d[i] + tau, true
		}
		if w <= 0 {
			dltlb = math.Max(dltlb, tau)
		} else {
			dltub = math.Min(dltub, tau)
		}
		c = w - delta[n-2]*dpsi - delta[n-1]*dphi
		a := (delta[n-2]+delta[n-1])*w - delta[n-2]*delta[n-1]*(dpsi+dphi)
		b := delta[n-2] * delta[n-1] * w
		if c < 0 {
			c = math.Abs(c)
		}
		var eta float64
		switch {
		case c == 0:
			eta = -w / (dpsi + dphi)
		case a >= 0:
			eta = (a + math.Sqrt(math.Abs(a*a-4*b*c))) / (2 * c)
		default:
			eta = 2 * b / (a - math.Sqrt(math.Abs(a*a-4*b*c)))
		}
		if w*eta > 0 {
			eta = -w / (dpsi + dphi)
		}
		if temp := tau + eta; temp > dltub || temp < dltlb {
			eta = overshoot(tau, w, -w/(dpsi+dphi), dltlb, dltub)
		}
		for j := 0; j < n; j++ {
			delta[j] -= eta
		}
		tau += eta
		_, dpsi, _, dphi, erretm, w = eval()
		for niter := 3; niter <= maxit; niter++ {
			if math.Abs(w) <= eps*erretm {
				return d[i] + tau, true
			}
			if w <= 0 {
				dltlb = math.Max(dltlb, tau)
			} else {
				dltub = math.Min(dltub, tau)
			}
			c := w - delta[n-2]*dpsi - delta[n-1]*dphi
			a := (delta[n-2]+delta[n-1])*w - delta[n-2]*delta[n-1]*(dpsi+dphi)
			b := delta[n-2] * delta[n-1] * w
			if a >= 0 {
				eta = (a + math.Sqrt(math.Abs(a*a-4*b*c))) / (2 * c)
			} else {
				eta = 2 * b / (a - math.Sqrt(math.Abs(a*a-4*b*c)))
			}
			if w*eta > 0 {
				eta = -w / (dpsi + dphi)
			}
			if temp := tau + eta; temp > dltub || temp < dltlb {
				if w < 0 {
					eta = (dltub - tau) / 2
				} else {
					eta = (dltlb - tau) / 2
				}
			}
			for j := 0; j < n; j++ {
				delta[j] -= eta
			}
			tau += eta
			_, dpsi, _, dphi, erretm, w = eval()
		}
		return d[i] + tau, false
	}

	// A root between d[i] and d[i+1].
	ip1 := i + 1
	del := d[ip1] - d[i]
	midpt := del / 2
	for j := 0; j < n; j++ {
		delta[j] = (d[j] - d[i]) - midpt
	}
	psi := 0.0
	for j := 0; j < i; j++ {
		psi += z[j] * z[j] / delta[j]
	}
	phi := 0.0
	for j := n - 1; j >= i+2; j-- {
		phi += z[j] * z[j] / delta[j]
	}
	c := rhoinv + psi + phi
	w := c + z[i]*z[i]/delta[i] + z[ip1]*z[ip1]/delta[ip1]

	// orgati: the root is nearer d[i] than d[i+1], and tau is measured from d[i].
	var orgati bool
	var tau, dltlb, dltub float64
	if w > 0 {
		orgati = true
		a := c*del + z[i]*z[i] + z[ip1]*z[ip1]
		b := z[i] * z[i] * del
		if a > 0 {
			tau = 2 * b / (a + math.Sqrt(math.Abs(a*a-4*b*c)))
		} else {
			tau = (a - math.Sqrt(math.Abs(a*a-4*b*c))) / (2 * c)
		}
		dltlb, dltub = 0, midpt
	} else {
		orgati = false
		a := c*del - z[i]*z[i] - z[ip1]*z[ip1]
		b := z[ip1] * z[ip1] * del
		if a < 0 {
			tau = 2 * b / (a - math.Sqrt(math.Abs(a*a+4*b*c)))
		} else {
			tau = -(a + math.Sqrt(math.Abs(a*a+4*b*c))) / (2 * c)
		}
		dltlb, dltub = -midpt, 0
	}
	origin := d[ip1]
	if orgati {
		origin = d[i]
	}
	for j := 0; j < n; j++ {
		delta[j] = (d[j] - origin) - tau
	}
	ii := ip1
	if orgati {
		ii = i
	}
	iim1, iip1 := ii-1, ii+1

	// psi (terms below ii), phi (above ii), derivatives, and the part of the error bound they
	// give.
	sums := func() (psi, dpsi, phi, dphi, erretm float64) {
		for j := 0; j <= iim1; j++ {
			temp := z[j] / delta[j]
			psi += z[j] * temp
			dpsi += temp * temp
			erretm += psi
		}
		erretm = math.Abs(erretm)
		for j := n - 1; j >= iip1; j-- {
			temp := z[j] / delta[j]
			phi += z[j] * temp
			dphi += temp * temp
			erretm += phi
		}
		return
	}
	psi, dpsi, phi, dphi, erretm := sums()
	w = rhoinv + phi + psi

	// swtch3: use the three-pole model (laed6) when the root lies on the far side of the
	// nearer pole's interval.
	swtch3 := w > 0
	if orgati {
		swtch3 = w < 0
	}
	if ii == 0 || ii == n-1 {
		swtch3 = false
	}
	temp := z[ii] / delta[ii]
	dw := dpsi + dphi + temp*temp
	temp = z[ii] * temp
	w += temp
	erretm = 8*(phi-psi) + erretm + 2*rhoinv + 3*math.Abs(temp) + math.Abs(tau)*dw
	if math.Abs(w) <= eps*erretm {
		return origin + tau, true
	}
	if w <= 0 {
		dltlb = math.Max(dltlb, tau)
	} else {
		dltub = math.Min(dltub, tau)
	}
	// rationalStep is the step of the rational model: two poles (the nearest) and the rest as a
	// constant, or with swtch3 three poles (laed6). swtch (the later iterations' choice, false
	// on the first) moves the interpolation of the term at ii to the other side; it also adds
	// that term into dpsi or dphi, as DLAED4 does.
	var zz [3]float64
	rationalStep := func(swtch bool, niter int) (eta float64, ok bool) {
		if !swtch3 {
			var c float64
			if !swtch {
				if orgati {
					c = w - delta[ip1]*dw - (d[i]-d[ip1])*((z[i]/delta[i])*(z[i]/delta[i]))
				} else {
					c = w - delta[i]*dw - (d[ip1]-d[i])*((z[ip1]/delta[ip1])*(z[ip1]/delta[ip1]))
				}
			} else {
				temp := z[ii] / delta[ii]
				if orgati {
					dpsi += temp * temp
				} else {
					dphi += temp * temp
				}
				c = w - delta[i]*dpsi - delta[ip1]*dphi
			}
			a := (delta[i]+delta[ip1])*w - delta[i]*delta[ip1]*dw
			b := delta[i] * delta[ip1] * w
			switch {
			case c == 0:
				if a == 0 {
					if !swtch {
						if orgati {
							a = z[i]*z[i] + delta[ip1]*delta[ip1]*(dpsi+dphi)
						} else {
							a = z[ip1]*z[ip1] + delta[i]*delta[i]*(dpsi+dphi)
						}
					} else {
						a = delta[i]*delta[i]*dpsi + delta[ip1]*delta[ip1]*dphi
					}
				}
				eta = b / a
			case a <= 0:
				eta = (a - math.Sqrt(math.Abs(a*a-4*b*c))) / (2 * c)
			default:
				eta = 2 * b / (a + math.Sqrt(math.Abs(a*a-4*b*c)))
			}
		} else {
			temp := rhoinv + psi + phi
			var c float64
			if swtch {
				c = temp - delta[iim1]*dpsi - delta[iip1]*dphi
				zz[0] = delta[iim1] * delta[iim1] * dpsi
				zz[2] = delta[iip1] * delta[iip1] * dphi
			} else if orgati {
				temp1 := z[iim1] / delta[iim1]
				temp1 *= temp1
				c = temp - delta[iip1]*(dpsi+dphi) - (d[iim1]-d[iip1])*temp1
				zz[0] = z[iim1] * z[iim1]
				zz[2] = delta[iip1] * delta[iip1] * ((dpsi - temp1) + dphi)
			} else {
				temp1 := z[iip1] / delta[iip1]
				temp1 *= temp1
				c = temp - delta[iim1]*(dpsi+dphi) - (d[iip1]-d[iim1])*temp1
				zz[0] = delta[iim1] * delta[iim1] * (dpsi + (dphi - temp1))
				zz[2] = z[iip1] * z[iip1]
			}
			zz[1] = z[ii] * z[ii]
			return laed6(niter, orgati, c, delta[iim1:iim1+3], zz[:], w)
		}
		return eta, true
	}
	niter := 2
	eta, ok := rationalStep(false, niter)
	if !ok {
		return origin + tau, false
	}
	if w*eta >= 0 {
		eta = -w / dw
	}
	if temp := tau + eta; temp > dltub || temp < dltlb {
		if w < 0 {
			eta = (dltub - tau) / 2
		} else {
			eta = (dltlb - tau) / 2
		}
	}
	prew := w
	for j := 0; j < n; j++ {
		delta[j] -= eta
	}
	psi, dpsi, phi, dphi, erretm = sums()
	temp = z[ii] / delta[ii]
	dw = dpsi + dphi + temp*temp
	temp = z[ii] * temp
	w = rhoinv + phi + psi + temp
	erretm = 8*(phi-psi) + erretm + 2*rhoinv + 3*math.Abs(temp) + math.Abs(tau+eta)*dw
	swtch := w > math.Abs(prew)/10
	if orgati {
		swtch = -w > math.Abs(prew)/10
	}
	tau += eta

	for niter++; niter <= maxit; niter++ {
		if math.Abs(w) <= eps*erretm {
			return origin + tau, true
		}
		if w <= 0 {
			dltlb = math.Max(dltlb, tau)
		} else {
			dltub = math.Min(dltub, tau)
		}
		eta, ok = rationalStep(swtch, niter)
		if !ok {
			return origin + tau, false
		}
		if w*eta >= 0 {
			eta = -w / dw
		}
		if temp := tau + eta; temp > dltub || temp < dltlb {
			eta = overshoot(tau, w, -w/dw, dltlb, dltub)
		}
		for j := 0; j < n; j++ {
			delta[j] -= eta
		}
		tau += eta
		prew = w
		psi, dpsi, phi, dphi, erretm = sums()
		temp := z[ii] / delta[ii]
		dw = dpsi + dphi + temp*temp
		temp = z[ii] * temp
		w = rhoinv + phi + psi + temp
		erretm = 8*(phi-psi) + erretm + 2*rhoinv + 3*math.Abs(temp) + math.Abs(tau)*dw
		if w*prew > 0 && math.Abs(w) > math.Abs(prew)/10 {
			swtch = !swtch
		}
	}
	return origin + tau, false
}

// overshoot is laed4's step when tau + eta would leave the bracket (dltlb, dltub) (reference
// LAPACK, February 2026): the geometric mean of the Newton step and half the distance to the
// bound on the Newton step's side when the Newton step stays inside, else that half distance.
func overshoot(tau, w, newton, dltlb, dltub float64) float64 {
	half := (dltlb - tau) / 2
	if w < 0 {
		half = (dltub - tau) / 2
	}
	if t := tau + newton; dltlb <= t && t <= dltub {
		return math.Copysign(1, newton) * math.Sqrt(math.Abs(newton)) * math.Sqrt(math.Abs(half))
	}
	return half
}

// laed5 is laed4 for n = 2 (DLAED5): the i-th root of the 2 x 2 secular equation, with delta
// set to the normalised eigenvector.
func laed5(i int, d, z, delta []float64, rho float64) float64 {
	del := d[1] - d[0]
	var dlam float64
	if i == 0 {
		w := 1 + 2*rho*(z[1]*z[1]-z[0]*z[0])/del
		if w > 0 {
			b := del + rho*(z[0]*z[0]+z[1]*z[1])
			c := rho * z[0] * z[0] * del
			tau := 2 * c / (b + math.Sqrt(math.Abs(b*b-4*c)))
			dlam = d[0] + tau
			delta[0] = -z[0] / tau
			delta[1] = z[1] / (del - tau)
		} else {
			b := -del + rho*(z[0]*z[0]+z[1]*z[1])
			c := rho * z[1] * z[1] * del
			var tau float64
			if b > 0 {
				tau = -2 * c / (b + math.Sqrt(b*b+4*c))
			} else {
				tau = (b - math.Sqrt(b*b+4*c)) / 2
			}
			dlam = d[1] + tau
			delta[0] = -z[0] / (del + tau)
			delta[1] = -z[1] / tau
		}
	} else {
		b := -del + rho*(z[0]*z[0]+z[1]*z[1])
		c := rho * z[1] * z[1] * del
		var tau float64
		if b > 0 {
			tau = (b + math.Sqrt(b*b+4*c)) / 2
		} else {
			tau = 2 * c / (-b + math.Sqrt(b*b+4*c))
		}
		dlam = d[1] + tau
		delta[0] = -z[0] / (del + tau)
		delta[1] = -z[1] / tau
	}
	temp := math.Sqrt(delta[0]*delta[0] + delta[1]*delta[1])
	delta[0] /= temp
	delta[1] /= temp
	return dlam
}

// laed6 (DLAED6) computes one Newton-like step for laed4 from a model with three poles d[0:3]
// and weights z[0:3]: the root of rho + sum_j z_j/(d_j - x) = 0 (finit its value at 0) in the
// interval laed4 is working on, returned as tau. kniter is laed4's iteration count (2 gives a
// better initial guess). ok is false when the iteration did not converge.
func laed6(kniter int, orgati bool, rho float64, d, z []float64, finit float64) (tau float64, ok bool) {
	const maxit = 40
	var lbd, ubd float64
	if orgati {
		lbd, ubd = d[1], d[2]
	} else {
		lbd, ubd = d[0], d[1]
	}
	if finit < 0 {
		lbd = 0
	} else {
		ubd = 0
	}
	if kniter == 2 {
		var a, b, c float64
		if orgati {
			temp := (d[2] - d[1]) / 2
			c = rho + z[0]/((d[0]-d[1])-temp)
			a = c*(d[1]+d[2]) + z[1] + z[2]
			b = c*d[1]*d[2] + z[1]*d[2] + z[2]*d[1]
		} else {
			temp := (d[0] - d[1]) / 2
			c = rho + z[2]/((d[2]-d[1])-temp)
			a = c*(d[0]+d[1]) + z[0] + z[1]
			b = c*d[0]*d[1] + z[0]*d[1] + z[1]*d[0]
		}
		temp := math.Max(math.Abs(a), math.Max(math.Abs(b), math.Abs(c)))
		a /= temp
		b /= temp
		c /= temp
		switch {
		case c == 0:
			tau = b / a
		case a <= 0:
			tau = (a - math.Sqrt(math.Abs(a*a-4*b*c))) / (2 * c)
		default:
			tau = 2 * b / (a + math.Sqrt(math.Abs(a*a-4*b*c)))
		}
		if tau < lbd || tau > ubd {
			tau = (lbd + ubd) / 2
		}
		if d[0] == tau || d[1] == tau || d[2] == tau {
			tau = 0
		} else {
			temp := finit + tau*z[0]/(d[0]*(d[0]-tau)) + tau*z[1]/(d[1]*(d[1]-tau)) + tau*z[2]/(d[2]*(d[2]-tau))
			if temp <= 0 {
				lbd = tau
			} else {
				ubd = tau
			}
			if math.Abs(finit) <= math.Abs(temp) {
				tau = 0
			}
		}
	}

	const eps = 0x1p-53
	// small1 = 2^int(log2(safmin)/3): scale when tau is this close to a pole.
	const small1 = 0x1p-340
	const sminv1 = 1 / small1
	const small2 = small1 * small1
	const sminv2 = sminv1 * sminv1
	var temp float64
	if orgati {
		temp = math.Min(math.Abs(d[1]-tau), math.Abs(d[2]-tau))
	} else {
		temp = math.Min(math.Abs(d[0]-tau), math.Abs(d[1]-tau))
	}
	var dscale, zscale [3]float64
	scale := false
	sclinv := 1.0
	if temp <= small1 {
		scale = true
		sclfac := sminv1
		sclinv = small1
		if temp <= small2 {
			sclfac, sclinv = sminv2, small2
		}
		for i := 0; i < 3; i++ {
			dscale[i] = d[i] * sclfac
			zscale[i] = z[i] * sclfac
		}
		tau *= sclfac
		lbd *= sclfac
		ubd *= sclfac
	} else {
		copy(dscale[:], d[:3])
		copy(zscale[:], z[:3])
	}
	unscale := func(t float64) float64 {
		if scale {
			return t * sclinv
		}
		return t
	}

	var fc, df, ddf float64
	for i := 0; i < 3; i++ {
		temp := 1 / (dscale[i] - tau)
		temp1 := zscale[i] * temp
		temp2 := temp1 * temp
		temp3 := temp2 * temp
		fc += temp1 / dscale[i]
		df += temp2
		ddf += temp3
	}
	f := finit + tau*fc
	if math.Abs(f) <= 0 {
		return unscale(tau), true
	}
	if f <= 0 {
		lbd = tau
	} else {
		ubd = tau
	}
	for niter := 2; niter <= maxit; niter++ {
		var temp1, temp2 float64
		if orgati {
			temp1, temp2 = dscale[1]-tau, dscale[2]-tau
		} else {
			temp1, temp2 = dscale[0]-tau, dscale[1]-tau
		}
		a := (temp1+temp2)*f - temp1*temp2*df
		b := temp1 * temp2 * f
		c := f - (temp1+temp2)*df + temp1*temp2*ddf
		temp := math.Max(math.Abs(a), math.Max(math.Abs(b), math.Abs(c)))
		a /= temp
		b /= temp
		c /= temp
		var eta float64
		switch {
		case c == 0:
			eta = b / a
		case a <= 0:
			eta = (a - math.Sqrt(math.Abs(a*a-4*b*c))) / (2 * c)
		default:
			eta = 2 * b / (a + math.Sqrt(math.Abs(a*a-4*b*c)))
		}
		if f*eta >= 0 {
			eta = -f / df
		}
		tau += eta
		if tau < lbd || tau > ubd {
			tau = (lbd + ubd) / 2
		}
		fc, df, ddf = 0, 0, 0
		erretm := 0.0
		for i := 0; i < 3; i++ {
			if dscale[i]-tau == 0 {
				return unscale(tau), true
			}
			temp := 1 / (dscale[i] - tau)
			temp1 := zscale[i] * temp
			temp2 := temp1 * temp
			temp3 := temp2 * temp
			temp4 := temp1 / dscale[i]
			fc += temp4
			erretm += math.Abs(temp4)
			df += temp2
			ddf += temp3
		}
		f = finit + tau*fc
		erretm = 8*(math.Abs(finit)+math.Abs(tau)*erretm) + math.Abs(tau)*df
		if math.Abs(f) <= 4*eps*erretm || (ubd-lbd) <= 4*eps*math.Abs(tau) {
			return unscale(tau), true
		}
		if f <= 0 {
			lbd = tau
		} else {
			ubd = tau
		}
	}
	return unscale(tau), false
}
