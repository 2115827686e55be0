"""scipy.special's functions, imported when first called: importing scipy.special takes 0.15 s, half of the
command line's start-up, and most runs (a Gaussian refit, say) never call them."""

from __future__ import annotations

from typing import Any


def logsumexp(*args: Any, **kwargs: Any) -> Any:
    from scipy.special import logsumexp as f

    return f(*args, **kwargs)


def ndtr(x: Any) -> Any:
    from scipy.special import ndtr as f

    return f(x)


def ndtri(x: Any) -> Any:
    from scipy.special import ndtri as f

    return f(x)


def gammaln(x: Any) -> Any:
    from scipy.special import gammaln as f

    return f(x)
