package ai.edgekit.demo.core.detect

import ai.edgekit.demo.core.json.Fields
import ai.edgekit.demo.core.json.Json
import ai.edgekit.demo.core.testing.Fixtures
import org.junit.Test
import kotlin.test.assertEquals
import kotlin.test.assertTrue

/**
 * The events of `edgekit.device.detect.EventPicker` on the same posteriors: detect_cases.json
 * holds sequences the Python SDK generated (random and hand-made, one to several keywords,
 * smoothing up to 30 windows, fed in chunks of any size) with the events Python found.
 */
class EventPickerTest {
    @Test
    fun `every sequence gives Python's events`() {
        val cases = (Fixtures.json("detect_cases.json") as Json.Arr).items
        assertTrue(cases.size >= 50)
        var events = 0
        cases.forEachIndexed { i, item ->
            val case = Fields(item as Json.Obj, "case $i")
            val picker = EventPicker(
                DetectConfig.from(case.obj("config")),
                case.strings("keywords"),
                case.int("hop"),
                case.int("half_window"),
                case.int("rate"),
            )
            val found = ArrayList<Event>()
            for (chunk in case.list("chunks")) {
                val rows = (chunk as Json.Arr).items.map { row ->
                    val values = (row as Json.Arr).items
                    FloatArray(values.size) { (values[it] as Json.Num).toDouble().toFloat() }
                }
                found += picker.push(rows)
            }
            found += picker.close(case.long("samples"))
            val expected = case.objects("events").map(Fixtures::event)
            assertEquals(expected, found, "case $i (${case.string("name")})")
            events += expected.size
        }
        assertTrue(events > 100, "only $events events in the cases")
    }

    @Test
    fun `an event spans its windows and peaks at its best`() {
        val config = DetectConfig(smoothSeconds = 0.0, threshold = 0.7)
        val picker = EventPicker(config, listOf("kw"), hop = 1600, halfWindow = 8000, rate = 16_000)
        val rows = listOf(0f, 0f, 0.8f, 0.9f, 0.75f, 0f, 0f).map { floatArrayOf(it) }
        val (event) = picker.push(rows) + picker.close(7 * 1600L)
        assertEquals("kw", event.label)
        assertEquals(0.9f.toDouble(), event.score)
        assertEquals(0.3, event.peakSeconds, 1e-12)
        assertEquals(0.0, event.startSeconds) // half a window before 0.2 s, clamped at the start
        assertEquals(0.9, event.endSeconds, 1e-12)
    }

    @Test
    fun `smoothing counts Python's rounding of smooth over hop`() {
        assertEquals(3, DetectConfig(smoothSeconds = 0.3).smoothWindows())
        assertEquals(2, DetectConfig(smoothSeconds = 0.25).smoothWindows()) // 2.5: half to even
        assertEquals(2, DetectConfig(smoothSeconds = 1.5, hopSeconds = 1.0).smoothWindows())
        assertEquals(1, DetectConfig(smoothSeconds = 0.0).smoothWindows())
    }
}
