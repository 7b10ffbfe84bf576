"""Floating-point formats: parameters, parsing, presets, decode/encode/classify.

A :class:`FloatFormat` is pure data (frozen, hashable).  Its encodings are unsigned integers
``sign | exponent field | fraction field`` of ``width = 1 + exp_bits + man_bits`` bits.

Special-value conventions (the ``nan`` parameter):

``"ieee"``     exponent all-ones: fraction 0 is +-Inf, nonzero fraction is NaN.
``"allones"``  (suffix ``fn``) no Inf; only exponent *and* fraction all-ones is NaN (either
               sign); every other all-ones-exponent code is finite (OCP E4M3).
``"negzero"``  (suffix ``fnuz``) no Inf, no -0; the single NaN is the code with only the sign
               bit set.  Default bias becomes ``2**(exp_bits-1)``.
``"none"``     (suffix ``fin``) finite only: no Inf, no NaN (OCP MX float6/float4, which
               ml_dtypes names ``float6_e2m3fn`` etc.).  Overflow always saturates.

``subnormals=False`` (suffix ``ns``): the lowest binade is an ordinary normal binade and only
the all-zero magnitude is zero (the DLFloat convention).

Codes convert to exact values with ``value`` (a Fraction) and ``decode`` (float64 arrays);
values convert to codes, rounded once, with ``encode_exact`` (one Fraction) and ``encode``
(float64 arrays).

Grammar of :func:`parse`: a preset name, ``e<E>m<M>[b<bias>][fn|fnuz|fin][ns]``, or an
ml_dtypes / numpy name (``float8_e4m3fn``, ``float8_e4m3b11fnuz``, ``bfloat16``, ...).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

__all__ = ["FloatFormat", "FloatClass", "PRESETS", "parse", "code_dtype"]

_NAN_SUFFIX = {"ieee": "", "allones": "fn", "negzero": "fnuz", "none": "fin"}
_SUFFIX_NAN = {v: k for k, v in _NAN_SUFFIX.items()}


class FloatClass(enum.IntEnum):
    """Class of an encoding, independent of sign."""

    ZERO = 0
    SUBNORMAL = 1
    NORMAL = 2
    INF = 3
    NAN = 4


def code_dtype(width: int) -> type:
    """Smallest numpy unsigned integer type holding ``width``-bit codes."""
    for dt in (np.uint8, np.uint16, np.uint32, np.uint64):
        if width <= np.dtype(dt).itemsize * 8:
            return dt
    raise ValueError(f"width {width} exceeds 64 bits")


@dataclass(frozen=True)
class FloatFormat:
    """A binary floating-point format.

    Parameters
    ----------
    exp_bits, man_bits : int
        Exponent and fraction (stored mantissa) field widths; ``exp_bits >= 2``,
        ``man_bits >= 1``, total width at most 64.
    bias : int, optional
        Exponent bias; default ``2**(exp_bits-1) - 1`` (``2**(exp_bits-1)`` for ``negzero``).
    inf, neg_zero : bool, optional
        Implied by ``nan``; may be given, but must then agree with it.
    nan : {"ieee", "allones", "negzero", "none"}
        Special-value convention (module docstring).
    subnormals : bool
        Gradual underflow.  ``False``: the lowest binade is normal and tiny results flush.
    name : str, optional
        Display name (a preset or ml_dtypes name).  Not part of equality.

    Every value must be exactly representable in float64 (``decode`` is exact).
    """

    exp_bits: int
    man_bits: int
    bias: int | None = None
    inf: bool | None = None
    nan: str = "ieee"
    subnormals: bool = True
    neg_zero: bool | None = None
    name: str | None = field(default=None, compare=False)

    def __post_init__(self):
        e, m = self.exp_bits, self.man_bits
        for label, v in (("exp_bits", e), ("man_bits", m)):
            if not isinstance(v, int) or isinstance(v, bool):
                raise TypeError(f"{label} must be an int, not {v!r}")
        if self.nan not in _NAN_SUFFIX:
            raise ValueError(f"nan must be one of {sorted(_NAN_SUFFIX)}, not {self.nan!r}")
        if e < 2:
            raise ValueError(f"exp_bits must be >= 2, not {e}")
        if m < 1:
            raise ValueError(f"man_bits must be >= 1, not {m}")
        if 1 + e + m > 64:
            raise ValueError(f"width 1+{e}+{m} exceeds 64 bits")
        if self.bias is None:
            object.__setattr__(self, "bias", (1 << (e - 1)) - (self.nan != "negzero"))
        if not isinstance(self.bias, int) or isinstance(self.bias, bool):
            raise TypeError(f"bias must be an int, not {self.bias!r}")
        for label, given, implied in (("inf", self.inf, self.nan == "ieee"),
                                      ("neg_zero", self.neg_zero, self.nan != "negzero")):
            if given is None:
                object.__setattr__(self, label, implied)
            elif bool(given) != implied:
                raise ValueError(f"{label}={given} contradicts nan={self.nan!r}")
        object.__setattr__(self, "subnormals", bool(self.subnormals))
        if self.emax > 1023 or self.emin - m < -1074:
            raise ValueError(f"format {self.spec} has values outside float64's exact range")

    # ---- naming -------------------------------------------------------------------------
    @property
    def default_bias(self) -> int:
        return (1 << (self.exp_bits - 1)) - (self.nan != "negzero")

    @property
    def spec(self) -> str:
        """Canonical grammar string, e.g. ``e4m3fn``, ``e4m3b11fnuz``, ``e6m9fnns``."""
        s = f"e{self.exp_bits}m{self.man_bits}"
        if self.bias != self.default_bias:
            s += f"b{self.bias}"
        s += _NAN_SUFFIX[self.nan]
        if not self.subnormals:
            s += "ns"
        return s

    def __str__(self) -> str:
        return self.name or self.spec

    # ---- field layout -------------------------------------------------------------------
    @property
    def width(self) -> int:
        return 1 + self.exp_bits + self.man_bits

    @property
    def precision(self) -> int:
        """Significand bits including the hidden bit."""
        return self.man_bits + 1

    @property
    def exp_field_max(self) -> int:
        return (1 << self.exp_bits) - 1

    @property
    def man_mask(self) -> int:
        return (1 << self.man_bits) - 1

    @property
    def sign_bit(self) -> int:
        return 1 << (self.width - 1)

    @property
    def has_inf(self) -> bool:
        return self.nan == "ieee"

    @property
    def has_nan(self) -> bool:
        return self.nan != "none"

    @property
    def has_neg_zero(self) -> bool:
        return self.nan != "negzero"

    @property
    def has_specials(self) -> bool:
        """True if some code is Inf or NaN."""
        return self.nan != "none"

    # ---- range --------------------------------------------------------------------------
    @property
    def emin(self) -> int:
        """Unbiased exponent of the lowest binade (smallest normal, or with ``ns`` the
        binade of exponent field 0)."""
        return (1 if self.subnormals else 0) - self.bias

    @property
    def max_code(self) -> int:
        """Code of the largest finite positive value."""
        efm, mm, m = self.exp_field_max, self.man_mask, self.man_bits
        if self.nan == "ieee":
            return ((efm - 1) << m) | mm
        if self.nan == "allones":
            return (efm << m) | (mm - 1)
        return (efm << m) | mm

    @property
    def field_range(self) -> tuple[int, int]:
        """Range of the effective exponent field (a subnormal's field 0 reads as 1) over
        finite nonzero codes."""
        return (1 if self.subnormals else 0), self.max_code >> self.man_bits

    @property
    def emax(self) -> int:
        """Unbiased exponent of the largest finite value."""
        return (self.max_code >> self.man_bits) - self.bias

    @property
    def nan_code(self) -> int:
        """The canonical NaN: positive where the format allows, quiet for IEEE."""
        if self.nan == "ieee":
            return (self.exp_field_max << self.man_bits) | (1 << (self.man_bits - 1))
        if self.nan == "allones":
            return (self.exp_field_max << self.man_bits) | self.man_mask
        if self.nan == "negzero":
            return self.sign_bit
        raise ValueError(f"format {self} has no NaN")

    @property
    def inf_code(self) -> int:
        if not self.has_inf:
            raise ValueError(f"format {self} has no Inf")
        return self.exp_field_max << self.man_bits

    @property
    def min_normal_code(self) -> int:
        return (1 << self.man_bits) if self.subnormals else 1

    @property
    def max(self) -> Fraction:
        return self.value(self.max_code)

    @property
    def min_normal(self) -> Fraction:
        return self.value(self.min_normal_code)

    @property
    def min_subnormal(self) -> Fraction | None:
        """Smallest positive subnormal, None without subnormals."""
        return self.value(1) if self.subnormals else None

    @property
    def min_positive(self) -> Fraction:
        return self.value(1)

    # ---- decoding ------------------------------------------------------------------------
    def fields(self, codes):
        """Split codes into (sign, exponent field, fraction field) uint64 arrays."""
        c = np.asarray(codes).astype(np.uint64)
        m = np.uint64(self.man_bits)
        sign = (c >> np.uint64(self.width - 1)) & np.uint64(1)
        ef = (c >> m) & np.uint64(self.exp_field_max)
        mf = c & np.uint64(self.man_mask)
        return sign, ef, mf

    def classify(self, codes) -> np.ndarray:
        """:class:`FloatClass` of each code, as an int8 array."""
        sign, ef, mf = self.fields(codes)
        efm = np.uint64(self.exp_field_max)
        out = np.full(ef.shape, FloatClass.NORMAL, dtype=np.int8)
        if self.subnormals:
            out[(ef == 0) & (mf != 0)] = FloatClass.SUBNORMAL
        out[(ef == 0) & (mf == 0)] = FloatClass.ZERO
        if self.nan == "ieee":
            out[(ef == efm) & (mf == 0)] = FloatClass.INF
            out[(ef == efm) & (mf != 0)] = FloatClass.NAN
        elif self.nan == "allones":
            out[(ef == efm) & (mf == np.uint64(self.man_mask))] = FloatClass.NAN
        elif self.nan == "negzero":
            out[(sign == 1) & (ef == 0) & (mf == 0)] = FloatClass.NAN
        return out

    def decode(self, codes) -> np.ndarray:
        """Codes -> float64 values (exact).  NaN codes give NaN, -0 gives -0.0."""
        sign, ef, mf = self.fields(codes)
        cls = self.classify(codes)
        sig, exp = self.sig_exp(ef, mf)
        with np.errstate(over="ignore"):  # Inf/NaN fields overflow here; replaced below
            mag = np.ldexp(sig.astype(np.float64), exp.astype(np.int32))
        mag = np.where(cls == FloatClass.INF, np.inf, mag)
        mag = np.where(cls == FloatClass.ZERO, 0.0, mag)
        out = np.where(sign == 1, -mag, mag)
        return np.where(cls == FloatClass.NAN, np.nan, out)

    def sig_exp(self, ef, mf):
        """Integer significand and exponent of its LSB for finite nonzero fields."""
        hidden = (ef != 0) if self.subnormals else np.ones(ef.shape, dtype=bool)
        sig = mf | (hidden.astype(np.uint64) << np.uint64(self.man_bits))
        eff = np.maximum(ef.astype(np.int64), 1) if self.subnormals else ef.astype(np.int64)
        return sig, eff - self.bias - self.man_bits

    def value(self, code: int) -> Fraction | float:
        """Exact value of one code: a Fraction (zero of either sign gives Fraction(0)),
        or a float for +-inf and NaN."""
        code = int(code)
        if not 0 <= code < (1 << self.width):
            raise ValueError(f"code {code:#x} out of range for {self.width}-bit format {self}")
        cls = FloatClass(int(self.classify(np.array([code]))[0]))
        neg = code >> (self.width - 1)
        if cls == FloatClass.NAN:
            return float("nan")
        if cls == FloatClass.INF:
            return float("-inf") if neg else float("inf")
        if cls == FloatClass.ZERO:
            return Fraction(0)
        ef = (code >> self.man_bits) & self.exp_field_max
        sig, exp = self.sig_exp(np.array([ef], dtype=np.uint64),
                                 np.array([code & self.man_mask], dtype=np.uint64))
        v = Fraction(int(sig[0])) * Fraction(2) ** int(exp[0])
        return -v if neg else v

    def encode(self, values, rounding="rne", saturate=False):
        """float64 values -> codes, rounded once (see :mod:`fpforge.sim.rounding`)."""
        from fpforge.sim.rounding import round_float64
        return round_float64(values, self, rounding=rounding, saturate=saturate)

    def encode_exact(self, value, rounding="rne", saturate=False, negative_zero=False) -> int:
        """One exact value (Fraction, int, or float Inf/NaN) -> code, rounded once."""
        from fpforge.sim.rounding import round_fraction
        return round_fraction(value, self, rounding, saturate, negative_zero)

    def all_codes(self) -> np.ndarray:
        """Every code of the format (only for widths up to 24)."""
        if self.width > 24:
            raise ValueError(f"{self} has too many codes to enumerate")
        return np.arange(1 << self.width, dtype=code_dtype(self.width))

    @property
    def dtype(self):
        """numpy dtype of this format's codes."""
        return code_dtype(self.width)


def _preset(name, e, m, **kw):
    return FloatFormat(e, m, name=name, **kw)


PRESETS: dict[str, FloatFormat] = {
    f.name: f
    for f in (
        _preset("fp64", 11, 52),
        _preset("fp32", 8, 23),
        _preset("fp16", 5, 10),
        _preset("bf16", 8, 7),
        _preset("dlfloat16", 6, 9, bias=31, nan="allones", subnormals=False),
        _preset("fp8_e4m3", 4, 3, nan="allones"),
        _preset("fp8_e5m2", 5, 2),
        _preset("hfp8", 4, 3, bias=11, nan="negzero"),
    )
}

_ALIASES = {"float64": "fp64", "double": "fp64", "float32": "fp32", "float16": "fp16",
            "half": "fp16", "single": "fp32", "bfloat16": "bf16"}

_SPEC_RE = re.compile(r"e(\d+)m(\d+)(?:b(-?\d+))?(fnuz|fn|fin)?(ns)?")
_MLDTYPES_RE = re.compile(r"float(\d+)_e(\d+)m(\d+)(?:b(\d+))?(fnuz|fnu|fn)?")

_GRAMMAR = ("a preset (" + ", ".join(PRESETS) + "), e<E>m<M>[b<bias>][fn|fnuz|fin][ns] "
            "(e.g. e5m10, e4m3fn, e6m9b31fnns), or an ml_dtypes name (float8_e4m3fn, "
            "float8_e4m3b11fnuz, float8_e5m2fnuz, bfloat16, float6_e2m3fn, ...)")


def parse(text: str | FloatFormat) -> FloatFormat:
    """Parse a format string (module docstring grammar).  Raises ValueError naming the
    valid forms."""
    if isinstance(text, FloatFormat):
        return text
    if not isinstance(text, str):
        raise TypeError(f"format must be a string, not {type(text).__name__}")
    s = text.strip().lower()
    if s in PRESETS:
        return PRESETS[s]
    if s in _ALIASES:
        p = PRESETS[_ALIASES[s]]
        return FloatFormat(p.exp_bits, p.man_bits, p.bias, nan=p.nan, subnormals=p.subnormals,
                           name=s)
    try:
        mt = _SPEC_RE.fullmatch(s)
        if mt:
            e, m, bias, suffix, ns = mt.groups()
            return FloatFormat(int(e), int(m), None if bias is None else int(bias),
                               nan=_SUFFIX_NAN[suffix or ""], subnormals=ns is None)
        mt = _MLDTYPES_RE.fullmatch(s)
        if mt:
            width, e, m, bias, suffix = mt.groups()
            e, m = int(e), int(m)
            if suffix == "fnu":
                raise ValueError(f"unsigned format {text!r} is not supported")
            if int(width) != 1 + e + m:
                raise ValueError(f"{text!r}: width {width} != 1+{e}+{m}")
            # ml_dtypes' "fn" means all-ones NaN for 8-bit types, finite-only below 8 bits
            nan = {"fnuz": "negzero", "fn": "allones" if int(width) >= 8 else "none",
                   None: "ieee"}[suffix]
            return FloatFormat(e, m, None if bias is None else int(bias), nan=nan, name=s)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"invalid format {text!r}: {exc}") from None
    raise ValueError(f"unknown format {text!r}; valid: {_GRAMMAR}")
