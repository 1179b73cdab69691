package ai.edgekit.demo.core.train

/**
 * What the user asked training to do cannot be done as asked (no clips, a label that is not a
 * live class, a mix ratio out of range...): the message says what, for the screen. Nothing was
 * trained or changed.
 */
open class TrainingInputError(message: String) : IllegalArgumentException(message)

/** Every class slot of the bundle is taken: a new word needs a bundle exported with more. */
class NoFreeSlot(message: String) : TrainingInputError(message)
