package ai.edgekit.demo.core.train

/**
 * The class slots of the bundle's head on this phone (`edgekit.device.slots.ClassSlots`): slot
 * i holds `labels[i]`, slots past the labels are free (a new word is enrolled into the next
 * one). Live labels are the ones the phone predicts and trains; the others keep their slots and
 * their weights untouched. [mask] gives the program's methods the live slots.
 */
class ClassSlots(labels: List<String>, val maxClasses: Int, live: Collection<String>? = null) {
    private val names = ArrayList<String>()
    private val alive = LinkedHashSet<String>()

    init {
        set(labels, live)
    }

    /** The label of each slot in use (slot i holds `labels[i]`). */
    val labels: List<String> get() = names.toList()

    /** The labels predicted and trained, in slot order. */
    val live: List<String> get() = names.filter { it in alive }

    /** Name the slots and choose the live ones (default: all). */
    fun set(labels: List<String>, live: Collection<String>? = null) {
        if (labels.toSet().size != labels.size) {
            throw TrainingInputError("labels must be distinct, got $labels")
        }
        if (labels.any { it.isEmpty() }) throw TrainingInputError("a label is empty: $labels")
        if (labels.size > maxClasses) {
            throw NoFreeSlot("${labels.size} labels but the bundle has $maxClasses slots")
        }
        val unknown = live.orEmpty().filter { it !in labels }.sorted()
        if (unknown.isNotEmpty()) {
            throw TrainingInputError("live labels $unknown are not among the labels $labels")
        }
        names.clear()
        names += labels
        alive.clear()
        alive += live ?: labels
    }

    /** Put a new live class [name] into the next free slot; returns the slot. */
    fun enrol(name: String): Int {
        if (name.isEmpty()) throw TrainingInputError("a new word needs a name")
        if (name in names) {
            throw TrainingInputError("'$name' already exists: record more clips of it instead")
        }
        if (names.size >= maxClasses) {
            throw NoFreeSlot(
                "all $maxClasses class slots are in use ($names): a new word needs a bundle " +
                    "exported with more slots",
            )
        }
        names += name
        alive += name
        return names.size - 1
    }

    /** Indices of the live labels' slots, ascending. */
    fun liveSlots(): IntArray = names.indices.filter { names[it] in alive }.toIntArray()

    /** `(maxClasses,)`: 1 for the slots of live labels, 0 elsewhere. */
    fun mask(): FloatArray {
        val mask = FloatArray(maxClasses)
        for (slot in liveSlots()) mask[slot] = 1f
        return mask
    }

    /** The slot of each of [labels], which must all be live. */
    fun slotsOf(labels: List<String>): LongArray {
        val unknown = labels.filter { it !in alive }.toSortedSet()
        if (unknown.isNotEmpty()) {
            throw TrainingInputError("labels $unknown are not live classes here ($live)")
        }
        return LongArray(labels.size) { names.indexOf(labels[it]).toLong() }
    }

    fun copy(): ClassSlots = ClassSlots(labels, maxClasses, live)
}
