package ai.edgekit.demo.core.state

import ai.edgekit.demo.core.testing.Fixtures
import ai.edgekit.demo.core.train.LearnerState
import ai.edgekit.demo.core.train.TrainData
import org.junit.Test
import java.io.File
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertTrue

/**
 * The new-version policy on the real bundle's weights and the program's real features of
 * clips: what a state carries over is read from its file without the version it was trained on
 * (this side's file and the Python learner's); a weights-only version keeps the labels and the
 * cache and takes its own weights, handing the cached clips back to be personalised again; a
 * version whose own word took the free slot drops the enrolled word's clips; a label not live
 * keeps its clips cached; another backbone starts fresh from the version and says why.
 */
class VersionPolicyTest {
    private val manifest get() = Versions.manifest
    private val width get() = manifest.featureSize

    private fun carried(state: LearnerState = Versions.learned()): CarriedState =
        CarriedState.read(StateFormat.encode(state, manifest.backboneHash), "state")

    @Test
    fun `what a state carries is read by word from this side's file and from Python's`() {
        val learned = Versions.learned()
        val c = carried(learned)
        assertEquals(manifest.backboneHash, c.backboneHash)
        assertEquals(learned.labels, c.labels)
        assertEquals(learned.live, c.live)
        assertEquals(List(5) { "noise" } + List(3) { manifest.labels[0] }, c.replay.words)
        assertContentEquals(learned.replayFeatures.data, c.replay.features.data)
        assertEquals(0, c.added.size)
        assertEquals(learned.rng, c.rng)

        val python = File(Fixtures.python, "python_state/${StateStore.STATE_FILE}")
        val fromPython = CarriedState.read(python.readBytes(), python.path)
        val meta = TrainData.doc("python_state.json").obj("meta")
        assertEquals(meta.strings("labels"), fromPython.labels)
        val slots = TrainData.doc("python_state.json").obj("arrays").obj("replay_labels")
            .longs("values")
        assertEquals(slots.map { meta.strings("labels")[it.toInt()] }, fromPython.replay.words)

        val bytes = StateFormat.encode(learned, manifest.backboneHash)
        val damaged = bytes.copyOf(bytes.size / 2)
        assertFailsWith<CorruptState> { CarriedState.read(damaged, "half a state") }
    }

    @Test
    fun `a weights-only version keeps the labels and cache, takes its weights, trains again`() {
        val learned = Versions.learned()
        val version = Versions.of()
        val weights = Versions.weights(0.5f)
        val start = VersionPolicy.start(carried(learned), version, weights)
        assertTrue(start.cacheKept)
        assertEquals(version.labels + "noise", start.state.labels)
        assertEquals(start.state.labels, start.state.live)
        for ((name, w) in weights) {
            assertContentEquals(w.data, start.state.weights.getValue(name).data, name)
        }
        assertContentEquals(learned.replayFeatures.data, start.retrain.features.data)
        assertEquals(List(5) { "noise" } + List(3) { version.labels[0] }, start.retrain.words)
        assertEquals(0, start.state.replayLabels.size, "the session caches them again")
        assertEquals(learned.rng, start.state.rng, "the draws continue")
        assertTrue(start.dropped.isEmpty())
        assertTrue(start.notes.any { "personalised again" in it }, "${start.notes}")
    }

    @Test
    fun `a version whose own word took the free slot drops the enrolled word's clips`() {
        val version = Versions.of(labels = manifest.labels + "go")
        val start = VersionPolicy.start(carried(), version, Versions.weights(0.5f))
        assertEquals(version.labels, start.state.labels)
        assertEquals(mapOf("noise" to 5), start.dropped)
        assertEquals(List(3) { version.labels[0] }, start.retrain.words)
        assertTrue(start.notes.any { "[noise]" in it && "dropped" in it }, "${start.notes}")
    }

    @Test
    fun `a label not live keeps its clips cached in its slot`() {
        val resting = Versions.learned().let { it.copy(live = it.labels.drop(1)) }
        val start = VersionPolicy.start(carried(resting), Versions.of(), Versions.weights(0.5f))
        val first = manifest.labels[0]
        assertFalse(first in start.state.live)
        assertEquals(List(5) { "noise" }, start.retrain.words)
        assertContentEquals(LongArray(3) { 0 }, start.state.replayLabels.data)
        val cached = resting.replayFeatures.data.copyOfRange(5 * width, 8 * width)
        assertContentEquals(cached, start.state.replayFeatures.data)
    }

    @Test
    fun `another backbone starts fresh from the version and says why`() {
        val version = Versions.of(backboneHash = "2".repeat(64))
        val weights = Versions.weights(0.5f)
        val start = VersionPolicy.start(carried(), version, weights)
        assertFalse(start.cacheKept)
        assertEquals(version.labels, start.state.labels)
        assertEquals(0, start.retrain.size)
        assertEquals(0, start.state.replayLabels.size)
        assertEquals(LearnerState.initial(version, weights).rng, start.state.rng)
        assertTrue(start.notes.any { "another backbone" in it && "8 cached clips" in it })
        assertTrue(start.notes.any { "[noise]" in it }, "the words to enrol again are named")
    }
}
