package ai.edgekit.demo.core.listen

import ai.edgekit.demo.core.detect.Event
import ai.edgekit.demo.core.detect.EventPicker
import org.junit.Test
import kotlin.test.assertEquals
import kotlin.test.assertTrue

/**
 * Live keyword spotting on the fixture stream, fed as a microphone feeds it (16-bit PCM in
 * reads of 40 ms), against `Learner.detect` on the same audio: the same events for the
 * exported model and for a personalised one (nudged weights, a subset of labels live, other
 * detection settings). The program's answers are the Python runtime's ([RecordedProgram]).
 */
class LiveDetectorTest {
    private val chunk = 640 // samples per AudioRecord read: 40 ms at 16 kHz

    /** The program of [run] and a detector with its model, settings and [backlogSeconds]. */
    private fun listen(run: ListenData.Run, backlogSeconds: Double) =
        RecordedProgram(run).let { program ->
            val config = run.config ?: program.manifest.detection
            val weights = run.weights
            program to LiveDetector(program, weights, run.labels, run.mask, config, backlogSeconds)
        }

    @Test
    fun `a detector that keeps up finds Python's events, one window per call`() {
        assertEquals(listOf("bundle", "personal"), ListenData.runs.map { it.name })
        for (run in ListenData.runs) {
            val (program, live) = listen(run, LiveDetector.DEFAULT_BACKLOG_SECONDS)
            val events = ArrayList<Event>()
            var windows = 0
            val samples = ListenData.samples
            for (at in samples.indices step chunk) {
                live.write(samples, at, minOf(chunk, samples.size - at))
                while (true) {
                    val heard = live.step()
                    if (heard.windows == 0) break
                    assertEquals(0L, heard.dropped)
                    windows += heard.windows
                    assertEquals((windows - 1) * 0.1, heard.seconds, 1e-9)
                    assertEquals(live.keywords.names.size, heard.latest!!.size)
                    events += heard.events
                }
            }
            events += live.finish()
            assertTrue(program.batches.dropLast(1).all { it == 1 }, "${program.batches}")
            assertEquals(ListenData.windowCount, program.batches.sum())
            assertTrue(run.events.size >= 3, "${run.name}: ${run.events}")
            ListenData.assertEvents(run.events, events, run.name)
        }
    }

    @Test
    fun `a detector that falls behind runs the waiting windows in batches`() {
        val run = ListenData.runs.first()
        val (program, live) = listen(run, backlogSeconds = 10.0)
        live.write(ListenData.samples)
        val heard = live.step()
        assertEquals(live.batch, heard.windows)
        assertEquals(minOf(run.config?.batch ?: 4, ListenData.manifest.maxBatch), live.batch)
        val events = heard.events + live.finish()
        assertEquals(0L, live.ring.dropped)
        assertTrue(program.batches.dropLast(1).all { it == live.batch }, "${program.batches}")
        ListenData.assertEvents(run.events, events, "in batches")
    }

    @Test
    fun `windows lost to an overrun count as nothing heard, on the stream's clock`() {
        val run = ListenData.runs.first()
        val (program, live) = listen(run, backlogSeconds = 1.0)
        live.write(ListenData.samples)
        val first = live.step()
        val dropped = first.dropped.toInt()
        assertTrue(dropped > 10, "only $dropped windows dropped")
        assertEquals(live.ring.dropped, first.dropped)
        val events = first.events + live.finish()
        assertEquals(ListenData.windowCount - dropped, program.batches.sum())
        // Python's posteriors of the windows run, zeros for those dropped, through the picker
        val keywords = live.keywords
        val heard = keywords.rows(run.probabilities.data, ListenData.windowCount)
        val rows = List(dropped) { FloatArray(keywords.names.size) } + heard.drop(dropped)
        val picker = EventPicker(live.config, keywords.names, live.hop, live.ring.clip / 2, 16_000)
        val want = picker.push(rows) + picker.close(ListenData.samples.size.toLong())
        ListenData.assertEvents(want, events, "after an overrun")
        assertTrue(events.all { it.peakSeconds >= dropped * 0.1 }, "$events")
    }
}
