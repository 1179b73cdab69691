package ai.edgekit.demo.core.listen

/**
 * The keywords a stream is searched for and the slot of each, as `edgekit.device.detect` picks
 * them: the [asked] ones (each a live label, in that order), or every live label but
 * `_silence_` and `_unknown_`, in slot order. [labels] names the slots in use; [mask] is 1 for
 * the live slots (one value per slot of the head).
 */
class Keywords(labels: List<String>, mask: FloatArray, asked: List<String>?) {
    /** The keywords, in the order their posteriors are picked. */
    val names: List<String>

    /** The slot of each keyword. */
    val slots: IntArray

    init {
        require(labels.size <= mask.size) { "${labels.size} labels for ${mask.size} slots" }
        require((labels.size until mask.size).all { mask[it] == 0f }) { "a live slot has no label" }
        val live = labels.filterIndexed { i, _ -> mask[i] != 0f }
        names = if (asked == null) {
            live.filter { it != SILENCE && it != UNKNOWN }.also {
                require(it.isNotEmpty()) { "no keyword to detect: the live labels are $live" }
            }
        } else {
            val missing = asked.filter { it !in live }
            require(missing.isEmpty()) { "keywords $missing are not live labels ($live)" }
            asked.toList()
        }
        slots = IntArray(names.size) { labels.indexOf(names[it]) }
    }

    /** Each row's probabilities of the keywords, from `(n, slots)` [probabilities]. */
    fun rows(probabilities: FloatArray, n: Int): List<FloatArray> {
        val width = probabilities.size / maxOf(n, 1)
        require(probabilities.size == n * width) { "${probabilities.size} values in $n rows" }
        return List(n) { row -> FloatArray(slots.size) { probabilities[row * width + slots[it]] } }
    }

    companion object {
        const val SILENCE = "_silence_" // edgekit.data.speech_commands' silence class
        const val UNKNOWN = "_unknown_" // and its class of other words
    }
}
