package ai.edgekit.demo.core.listen

import ai.edgekit.demo.core.bundle.BundleFolder
import ai.edgekit.demo.core.bundle.Manifest
import ai.edgekit.demo.core.detect.DetectConfig
import ai.edgekit.demo.core.detect.Event
import ai.edgekit.demo.core.json.Fields
import ai.edgekit.demo.core.json.Json
import ai.edgekit.demo.core.npy.NdArray
import ai.edgekit.demo.core.npy.Npz
import ai.edgekit.demo.core.testing.Fixtures
import java.io.File
import kotlin.test.assertEquals
import kotlin.test.assertTrue

/**
 * What tests/android/listen_fixtures.py wrote: a stream of 16-bit PCM, every window the Python
 * detector embedded from it with the features the bundle's program returned, and per run
 * (`bundle`: the exported weights, every label live; `personal`: nudged weights, a subset live,
 * other settings) the logits and probabilities Python computed and the events it found.
 */
object ListenData {
    val manifest: Manifest by lazy { BundleFolder.open(Fixtures.bundle).manifest }

    private val stream by lazy { Npz.read(File(Fixtures.python, "listen_stream.npz")) }

    /** The stream as the microphone gives it. */
    val samples: ShortArray by lazy {
        val values = (stream.getValue("samples") as NdArray.Int32).data
        ShortArray(values.size) { values[it].toShort() }
    }

    /** Python's windows `(count, clip)`, row-major, in stream order. */
    val windows: NdArray.Float32 get() = stream.getValue("windows") as NdArray.Float32

    /** The program's features of each window `(count, featureSize)`. */
    val features: NdArray.Float32 get() = stream.getValue("features") as NdArray.Float32

    val windowCount: Int get() = windows.shape[0]

    /** Window [k] of Python's windows. */
    fun window(k: Int): FloatArray {
        val clip = windows.shape[1]
        return windows.data.copyOfRange(k * clip, (k + 1) * clip)
    }

    /** One detection run of the Python SDK on the stream. */
    class Run(fields: Fields, arrays: Map<String, NdArray>) {
        val name = fields.string("name")
        val labels = fields.strings("labels")
        val config: DetectConfig? =
            if (fields.isNull("config")) null else DetectConfig.from(fields.obj("config"))
        val events = fields.objects("events").map(Fixtures::event)
        val logits = arrays.getValue("logits") as NdArray.Float32
        val probabilities = arrays.getValue("probabilities") as NdArray.Float32
        val mask = (arrays.getValue("mask") as NdArray.Float32).data
        val weights = manifest.trainable.map { arrays.getValue("w.${it.name}") as NdArray.Float32 }
    }

    val runs: List<Run> by lazy {
        val doc = Fields(Fixtures.json("listen_stream.json") as Json.Obj, "listen_stream.json")
        doc.objects("runs").map {
            val file = File(Fixtures.python, "listen_run_${it.string("name")}.npz")
            Run(it, Npz.read(file))
        }
    }

    /** Python's arrays of [file] (listen_*.npz). */
    fun arrays(file: String): Map<String, NdArray> = Npz.read(File(Fixtures.python, file))

    /** [got] within [ulps] float32 steps of [want], each value (a step at 0 is the smallest
     * subnormal, so an exact 0 must stay near 0). */
    fun assertUlps(want: FloatArray, got: FloatArray, ulps: Int, what: String) {
        assertEquals(want.size, got.size, what)
        var worst = 0
        for (i in want.indices) {
            assertTrue(want[i] >= 0f && got[i] >= 0f, "$what[$i]: ${want[i]} vs ${got[i]}")
            worst = maxOf(worst, Math.abs(want[i].toRawBits() - got[i].toRawBits()))
            assertTrue(worst <= ulps, "$what[$i]: Python ${want[i]}, Kotlin ${got[i]}")
        }
    }

    /** [got] are the events [want] (labels and times exactly, scores to float32 noise). */
    fun assertEvents(want: List<Event>, got: List<Event>, what: String) {
        assertEquals(want.map { it.label }, got.map { it.label }, "$what: labels")
        for ((w, g) in want.zip(got)) {
            assertEquals(w.copy(score = 0.0), g.copy(score = 0.0), what)
            assertEquals(w.score, g.score, 1e-6, "$what: score of $w")
        }
    }
}
