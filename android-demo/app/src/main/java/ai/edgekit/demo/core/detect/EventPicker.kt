package ai.edgekit.demo.core.detect

import ai.edgekit.demo.core.npy.PairwiseSum

/** One detected keyword; times in seconds from the stream's first sample (edgekit's `Event`). */
data class Event(
    val label: String,
    val startSeconds: Double, // the audio the event's windows cover begins here...
    val endSeconds: Double, // ...and ends here (the word lies within)
    val peakSeconds: Double, // when the smoothed posterior peaked
    val score: Double, // that peak
)

/**
 * Smoothing, threshold and refractory over the keywords' posteriors, window by window: a port of
 * `edgekit.device.detect.EventPicker` that gives the same events on the same posteriors.
 *
 * Window k is centred on sample `k * hop`. The posteriors of the last `smoothWindows()` windows
 * are averaged (causal) in float32 and summed in numpy's order, so that a score on the threshold
 * falls on the same side as in Python; the average is timed at the mean centre of its windows.
 * An event opens when the top keyword's smoothed posterior rises to the threshold at least
 * `refractory_seconds` after the previous opening, lasts while that keyword stays on top at or
 * above the threshold, and is reported when it closes. [halfWindow] samples on each side of the
 * first and last firing times make an event's span.
 */
class EventPicker(
    val config: DetectConfig,
    val keywords: List<String>,
    private val hop: Int, // samples between window centres
    private val halfWindow: Int, // samples
    private val rate: Int, // samples per second
) {
    private val span = config.smoothWindows()
    private val refractory = config.refractorySeconds * rate // samples
    private var recent: List<FloatArray> = emptyList() // the last span - 1 windows
    private var count = 0L // windows seen
    private var firing: Int? = null // keyword at or above the threshold at the last window
    private var open: Run? = null // the event being detected
    private var lastOnset: Double? = null // when the last event opened (samples)

    private class Run(
        val keyword: Int,
        val first: Double, // samples
        var last: Double,
        var peak: Double,
        var score: Double,
    )

    init {
        require(keywords.isNotEmpty()) { "no keyword to detect" }
        require(hop >= 1 && halfWindow >= 0 && rate >= 1) { "hop, half window, rate must be > 0" }
    }

    /** The events that close within these windows; each row holds one window's posterior of
     * every keyword, in [keywords] order. */
    fun push(posteriors: List<FloatArray>): List<Event> {
        for (row in posteriors) {
            require(row.size == keywords.size) { "${row.size} posteriors, not ${keywords.size}" }
        }
        val rows = recent + posteriors
        val before = recent.size
        val events = ArrayList<Event>()
        for (i in before until rows.size) {
            val k = count + i - before // this window's index in the stream
            val lo = maxOf(0, i - span + 1)
            val smoothed = mean(rows, lo, i + 1)
            val time = (k - (i - lo) / 2.0) * hop // the mean centre of the averaged windows
            val top = argmax(smoothed)
            val score = smoothed[top].toDouble()
            events += step(if (score >= config.threshold) top else null, time, score)
        }
        count += posteriors.size
        recent = rows.subList(maxOf(0, rows.size - span + 1), rows.size).toList() // span - 1 rows
        return events
    }

    /** The event still open when the stream ends after [samples] samples. */
    fun close(samples: Long): List<Event> =
        if (open != null) listOf(closeRun(samples.toDouble())) else emptyList()

    private fun step(now: Int?, time: Double, score: Double): List<Event> {
        val events = ArrayList<Event>(1)
        val run = open
        if (run != null && now == run.keyword) {
            run.last = time
            if (score > run.score) {
                run.peak = time
                run.score = score
            }
        } else {
            if (run != null) events += closeRun(Double.POSITIVE_INFINITY)
            val rising = now != null && now != firing // never mid-way up a run
            val onset = lastOnset
            val free = onset == null || time - onset >= refractory
            if (now != null && rising && free) {
                open = Run(now, time, time, time, score)
                lastOnset = time
            }
        }
        firing = now
        return events
    }

    private fun closeRun(end: Double): Event {
        val run = checkNotNull(open)
        open = null
        return Event(
            label = keywords[run.keyword],
            startSeconds = maxOf(0.0, run.first - halfWindow) / rate,
            endSeconds = minOf(end, run.last + halfWindow) / rate,
            peakSeconds = run.peak / rate,
            score = run.score,
        )
    }

    private companion object {
        /** Column means of rows [from, to) as numpy's `rows[from:to].mean(axis=0)` on float32:
         * one column is summed pairwise (a contiguous reduction), several row by row. */
        fun mean(rows: List<FloatArray>, from: Int, to: Int): FloatArray {
            val n = to - from
            val width = rows[from].size
            val out = FloatArray(width)
            if (width == 1) {
                out[0] = PairwiseSum.of(FloatArray(n) { rows[from + it][0] }, 0, n)
            } else {
                for (r in from until to) for (j in 0 until width) out[j] += rows[r][j]
            }
            for (j in 0 until width) out[j] /= n.toFloat()
            return out
        }


        /** numpy's argmax: the first largest value (the first NaN, if any). */
        fun argmax(values: FloatArray): Int {
            var best = 0
            for (i in values.indices) {
                if (values[i].isNaN()) return i
                if (values[i] > values[best]) best = i
            }
            return best
        }
    }
}
