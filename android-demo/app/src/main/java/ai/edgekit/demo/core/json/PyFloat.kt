package ai.edgekit.demo.core.json

import java.math.BigDecimal
import java.math.MathContext
import java.math.RoundingMode

/**
 * Python's `repr(float)`: the shortest decimal that reads back as the same double (the closest
 * such one), written in fixed notation when its exponent is in [-4, 16) (`0.1`, `8000.0`) and in
 * scientific notation otherwise (`1e-10`, `1.5e+16`). JSON written by Python holds floats in this
 * form, so a digest of canonical JSON needs it byte for byte.
 */
object PyFloat {
    fun repr(x: Double): String {
        if (x.isNaN()) return "nan"
        if (x.isInfinite()) return if (x > 0) "inf" else "-inf"
        if (x == 0.0) return if (1.0 / x < 0) "-0.0" else "0.0"
        val digits = shortest(x)
        val negative = digits.signum() < 0
        val unscaled = digits.unscaledValue().abs().toString().trimEnd('0').ifEmpty { "0" }
        // value = 0.<unscaled> * 10^(point): the decimal exponent of its first digit is point - 1
        val point = digits.precision() - digits.scale()
        val exponent = point - 1
        val body = if (exponent in -4..15) {
            when {
                point <= 0 -> "0." + "0".repeat(-point) + unscaled
                point >= unscaled.length -> unscaled + "0".repeat(point - unscaled.length) + ".0"
                else -> unscaled.substring(0, point) + "." + unscaled.substring(point)
            }
        } else {
            val mantissa = when (unscaled.length) {
                1 -> unscaled
                else -> "${unscaled[0]}.${unscaled.drop(1)}"
            }
            val sign = if (exponent < 0) "-" else "+"
            mantissa + "e" + sign + Math.abs(exponent).toString().padStart(2, '0')
        }
        return if (negative) "-$body" else body
    }

    /** The shortest decimal that rounds to [x]; of those, the closest to it. */
    private fun shortest(x: Double): BigDecimal {
        val exact = BigDecimal(x)
        for (precision in 1..17) {
            val rounded = exact.round(MathContext(precision, RoundingMode.HALF_EVEN))
            if (rounded.toDouble() == x) return rounded
            // the nearest decimal of this length may miss where a neighbour reads back
            val step = BigDecimal.ONE.movePointLeft(rounded.scale())
            for (candidate in listOf(rounded.subtract(step), rounded.add(step))) {
                if (candidate.toDouble() == x) return candidate
            }
        }
        return exact.round(MathContext(17, RoundingMode.HALF_EVEN))
    }
}
