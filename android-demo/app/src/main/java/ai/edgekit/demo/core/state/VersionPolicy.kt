package ai.edgekit.demo.core.state

import ai.edgekit.demo.core.bundle.Manifest
import ai.edgekit.demo.core.npy.NdArray
import ai.edgekit.demo.core.train.ClipSet
import ai.edgekit.demo.core.train.LearnerState

/**
 * How the phone starts on a new version of its bundle ([VersionPolicy.start]): the [state] to
 * run and save, the cached clips to personalise again ([retrain], by word), the clips of words
 * the new version has no slot left for ([dropped], by word), whether the feature cache could be
 * reused ([cacheKept]) and what to tell the user ([notes]).
 */
class VersionStart(
    val state: LearnerState,
    val retrain: ClipSet,
    val dropped: Map<String, Int>,
    val cacheKept: Boolean,
    val notes: List<String>,
)

/**
 * The fleet's device policy on a new version (`edgekit_server.hub.fleet_device`): keep the
 * user's clips and the feature cache, start from the new version's weights, personalise again.
 * The cache is keyed by the backbone hash: a version that keeps the backbone (a weights-only
 * version, what federation publishes) keeps every cached feature, so no clip goes through the
 * backbone again; a version with another backbone embeds differently, so the cache cannot be
 * reused and the phone starts fresh from the version, saying so.
 *
 * With the same backbone, the slots are the new version's labels in its order (its weights were
 * trained for them), then the phone's own words (enrolled here) in the free slots left, in their
 * old order; a word that no longer fits loses its clips ([VersionStart.dropped]). A label stays
 * live unless the phone had it not live. The cached clips of live words are handed back to be
 * personalised again (a session puts them into the new state's cache); those of labels that are
 * not live stay in the cache as they were. The examples added to D0 and the draws carry over.
 */
object VersionPolicy {
    fun start(
        old: CarriedState,
        manifest: Manifest,
        weights: Map<String, NdArray.Float32>,
    ): VersionStart {
        val width = manifest.featureSize
        val fresh = LearnerState.initial(manifest, weights)
        if (old.backboneHash != manifest.backboneHash || old.replay.featureSize != width) {
            val own = old.labels.filter { it !in manifest.labels }
            val notes = mutableListOf(
                "the new version has another backbone: its features differ, so the " +
                    "${old.replay.size} cached clips cannot be reused; record your words again",
            )
            if (own.isNotEmpty()) notes += "enrol again the words it lacks: $own"
            return VersionStart(fresh, ClipSet.empty(width), old.replay.counts(), false, notes)
        }
        val own = old.labels.filter { it !in manifest.labels }
        val room = manifest.maxClasses - manifest.labels.size
        val labels = manifest.labels + own.take(maxOf(0, room))
        val live = labels.filter { it !in old.labels || it in old.live }
        val lost = own.drop(maxOf(0, room)).toSet()
        val retrainRows = old.replay.words.indices.filter { old.replay.words[it] in live }
        val resting = old.replay.words.indices.filter {
            old.replay.words[it] in labels && old.replay.words[it] !in live
        }
        val dropped = old.replay.words.filter { it in lost }.groupingBy { it }.eachCount()
        val retrainWords = retrainRows.map { old.replay.words[it] }
        val retrain = ClipSet(old.replay.rows(retrainRows), retrainWords)
        val kept = old.added.words.indices.filter { old.added.words[it] in labels }
        val state = fresh.copy(
            labels = labels,
            live = live,
            replayFeatures = old.replay.rows(resting),
            replayLabels = slots(resting.map { old.replay.words[it] }, labels),
            globalFeatures = old.added.rows(kept),
            globalLabels = slots(kept.map { old.added.words[it] }, labels),
            rng = old.rng,
        )
        val notes = mutableListOf("started from the new version's weights")
        if (retrain.size > 0) {
            notes += "${retrain.size} cached clips (${retrain.counts().keys.joinToString()}) " +
                "are personalised again"
        }
        if (dropped.isNotEmpty()) {
            notes += "no free slot is left for ${dropped.keys.sorted()} in the new version: " +
                "their ${dropped.values.sum()} cached clips were dropped"
        }
        return VersionStart(state, retrain, dropped, true, notes)
    }

    private fun slots(words: List<String>, labels: List<String>) =
        NdArray.Int64(intArrayOf(words.size), LongArray(words.size) {
            labels.indexOf(words[it]).toLong()
        })
}
