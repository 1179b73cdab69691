package ai.edgekit.demo.core.signing

import ai.edgekit.demo.core.json.Json
import ai.edgekit.demo.core.testing.Fixtures
import org.junit.Test
import java.time.Instant
import kotlin.test.assertEquals
import kotlin.test.assertNull
import kotlin.test.assertTrue

/**
 * Expiry times against Python's `datetime.fromisoformat` (iso_times.json: each time, the
 * instant Python reads in microseconds since 1970 or null when it refuses it or finds no
 * offset, and whether the hub's `isoformat()` could have written it).
 */
class IsoTimeTest {
    private fun micros(instant: Instant): Long =
        instant.epochSecond * 1_000_000 + instant.nano / 1000

    @Test
    fun `every time this side reads, Python reads as the same instant`() {
        val cases = (Fixtures.json("iso_times.json") as Json.Arr).items
            .map { (it as Json.Arr).items }
        assertTrue(cases.size > 1000)
        var hubForms = 0
        var read = 0
        for ((text, expected, hub) in cases) {
            val time = (text as Json.Str).value
            val python = (expected as? Json.Num)?.toLongOrNull()
            val mine = IsoTime.parse(time)?.let(::micros)
            if (mine != null) {
                read++
                assertEquals(python, mine, "'$time' read as another instant than Python's")
            }
            if ((hub as Json.Bool).value) {
                hubForms++
                assertEquals(python, mine, "'$time' is a time the hub writes")
            }
        }
        assertTrue(hubForms > 100 && read > hubForms, "$hubForms hub forms, $read read")
    }

    @Test
    fun `a time without its offset or out of range is refused`() {
        for (text in listOf(
            "2027-06-01T00:00:00", "2027-06-01", "2027-02-29T00:00:00Z", "2027-06-01T24:00:00Z",
            "2027-06-01T00:00:60+00:00", "0000-01-01T00:00:00Z", "2027-06-01T00:00:00+24:00",
            "2027-06-01T00:00:00z", "2027-06-01T00:00:00+05:60",
        )) {
            assertNull(IsoTime.parse(text), text)
        }
    }

    @Test
    fun `offsets beyond java's 18 hours are read as Python reads them`() {
        val east = IsoTime.parse("2027-06-01T00:00:00+20:00")
        assertEquals(Instant.parse("2027-05-31T04:00:00Z"), east)
        val west = IsoTime.parse("2027-06-01T00:00:00-00:00:01.5")
        assertEquals(Instant.parse("2027-06-01T00:00:01.5Z"), west)
    }
}
