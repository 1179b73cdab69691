package ai.edgekit.demo.core.train

import ai.edgekit.demo.core.npy.NdArray

/** What a word of the train panel stands for now. */
enum class WordKind {
    KNOWN, // a live label: Personalise trains its clips
    NEW, // not a label: Enrol puts it into a free slot
    RESTING, // a label that is not live: neither trains it
}

/** A word's clips: [pending] recorded and not trained yet, [trained] in the feature cache. */
class WordClips(val word: String, val kind: WordKind, val pending: Int, val trained: Int)

/** A session the user asked for: the pending clips at [indices] and their [features]. */
sealed class TrainPlan(val indices: List<Int>, val features: NdArray.Float32) {
    /** Adapt the model to the user's clips of words it knows; [labels]: each clip's word. */
    class Personalise(indices: List<Int>, features: NdArray.Float32, val labels: List<String>) :
        TrainPlan(indices, features)

    /** Put [word] into the next free slot, from its clips. */
    class Enrol(val word: String, indices: List<Int>, features: NdArray.Float32) :
        TrainPlan(indices, features)
}

/**
 * The train panel's rules over the user's clips: which pending clips a Personalise takes (those
 * of live labels), what an Enrol needs (a word that is not a label yet, a free slot, at least
 * [MIN_ENROL_CLIPS] clips), how many clips each word has (pending, and trained ones in the
 * [state]'s feature cache) and what is left pending once a session trained ([afterTraining]).
 * Refusals are [TrainingInputError]s whose message is for the screen. [pending] is recorded for
 * the same bundle backbone as [state]; [maxClasses] is the bundle's slots.
 */
class ClipBook(val state: LearnerState, val maxClasses: Int, val pending: ClipSet) {
    /** Every word with clips or a slot: the labels in slot order, then new words as recorded. */
    fun words(): List<WordClips> {
        val trained = HashMap<String, Int>()
        for (slot in state.replayLabels.data) {
            val word = state.labels.getOrNull(slot.toInt()) ?: continue
            trained[word] = (trained[word] ?: 0) + 1
        }
        val counts = pending.counts()
        val names = LinkedHashSet(state.labels).apply { addAll(counts.keys) }
        return names.map { word ->
            WordClips(word, kind(word), counts[word] ?: 0, trained[word] ?: 0)
        }
    }

    /** What a word is to the model now. */
    fun kind(word: String): WordKind = when (word) {
        in state.live -> WordKind.KNOWN
        in state.labels -> WordKind.RESTING
        else -> WordKind.NEW
    }

    /** Personalise on every pending clip of a live label; refused when there is none. */
    fun personalise(): TrainPlan.Personalise {
        val indices = pending.words.indices.filter { kind(pending.words[it]) == WordKind.KNOWN }
        if (indices.isEmpty()) {
            val others = pending.counts().keys.filter { kind(it) == WordKind.NEW }
            val hint = if (others.isEmpty()) "" else "; new words ($others) are enrolled instead"
            throw TrainingInputError(
                "no recorded clip of a word the model knows (${state.live}): record some$hint",
            )
        }
        return TrainPlan.Personalise(
            indices,
            pending.rows(indices),
            indices.map { pending.words[it] },
        )
    }

    /** Enrol [text] (a word, see [word]) from its pending clips; refused, saying why, when it
     * is a label already, when no slot is free or when it has too few clips. */
    fun enrol(text: String): TrainPlan.Enrol {
        val word = word(text)
        if (word in state.labels) {
            throw TrainingInputError(
                "'$word' is a word of the model already: record clips of it and Personalise",
            )
        }
        if (state.labels.size >= maxClasses) {
            throw NoFreeSlot(
                "all $maxClasses class slots are in use (${state.labels}): a new word needs a " +
                    "bundle exported with more slots",
            )
        }
        val indices = pending.indicesOf(word)
        if (indices.size < MIN_ENROL_CLIPS) {
            throw TrainingInputError(
                "'$word' has ${indices.size} clips: enrolling a word takes at least " +
                    "$MIN_ENROL_CLIPS",
            )
        }
        return TrainPlan.Enrol(word, indices, pending.rows(indices))
    }

    /** The pending clips once [plan] trained: all but the ones it took. */
    fun afterTraining(plan: TrainPlan): ClipSet = pending.without(plan.indices)

    companion object {
        /** Fewest clips an Enrol takes: a new word's column starts at its clips' mean
         * embedding, which one or two clips of one voice do not make reliable. */
        const val MIN_ENROL_CLIPS = 3

        /** Longest word, in characters: it has to fit a line of the screen. */
        const val MAX_WORD_CHARS = 32

        /** [text] as a word (surrounding spaces dropped); refused when empty, too long or
         * holding control characters. */
        fun word(text: String): String {
            val word = text.trim()
            if (word.isEmpty()) throw TrainingInputError("type the word first")
            if (word.length > MAX_WORD_CHARS) {
                throw TrainingInputError("a word has at most $MAX_WORD_CHARS characters")
            }
            if (word.any { it.isISOControl() }) {
                throw TrainingInputError("a word holds no control characters")
            }
            return word
        }
    }
}
