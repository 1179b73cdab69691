package ai.edgekit.demo.core.signing

import java.time.DateTimeException
import java.time.Instant
import java.time.LocalDateTime
import java.time.ZoneOffset

/**
 * The expiry times of signed metadata: ISO 8601 with a UTC offset, in the extended forms
 * Python's `datetime.isoformat` writes and `datetime.fromisoformat` reads back:
 *
 *     YYYY-MM-DD(T| )HH:MM[:SS[(.|,)f{1,}]](Z|(+|-)HH:MM[:SS[.f{1,6}]])
 *
 * Fractions beyond microseconds are cut, as Python cuts them. Every time read here is read by
 * Python to the same instant; a time without an offset is refused, as the device refuses it.
 * Python also reads some rarer forms (week dates, basic format `20270601T000000+0000`): they are
 * refused here as malformed metadata, which a hub never writes.
 */
object IsoTime {
    private val FORM = Regex(
        "([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2})" +
            "(?::([0-9]{2})(?:[.,]([0-9]+))?)?" +
            "(Z|([+-])([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\\.([0-9]{1,6}))?)?)",
    )

    /** The instant [text] names, or null when it is not such a time or not a valid one. */
    fun parse(text: String): Instant? {
        val m = FORM.matchEntire(text) ?: return null
        val g = m.groupValues
        fun num(i: Int) = if (g[i].isEmpty()) 0 else g[i].toInt()
        val local = try {
            LocalDateTime.of(num(1), num(2), num(3), num(4), num(5), num(6), micros(g[7]) * 1000)
        } catch (e: DateTimeException) {
            return null // a month 13, a 31 June, an hour 24, a second 60...
        }
        if (local.year < 1) return null // Python's years are 1..9999
        var offsetMicros = 0L // Python's offsets reach +-23:59:59.999999 (java.time's stop at 18 h)
        if (g[8] != "Z") {
            if (num(11) > 59 || num(12) > 59) return null
            offsetMicros = (num(10) * 3600L + num(11) * 60L + num(12)) * 1_000_000L + micros(g[13])
            if (offsetMicros >= 86_400_000_000L) return null
            if (g[9] == "-") offsetMicros = -offsetMicros
        }
        return local.toInstant(ZoneOffset.UTC).minusNanos(offsetMicros * 1000)
    }

    private fun micros(fraction: String): Int =
        if (fraction.isEmpty()) 0 else fraction.take(6).padEnd(6, '0').toInt()
}
