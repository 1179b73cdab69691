package ai.edgekit.demo.core.train

/**
 * On-device training settings, with the Python learner's defaults
 * (`edgekit.device.config.LearnerConfig`). The feature cache's byte bound is not one of them
 * here (the app's cache is the replay set, bounded by [replayClips]), nor the seed (the first
 * draws come from [LearnerState.initial], later ones continue the saved state's).
 */
data class TrainConfig(
    val learningRate: Double = 0.05, // SGD step size, > 0
    val momentum: Double = 0.9, // SGD momentum in [0, 1); one optimizer per session keeps it
    val clipNorm: Double? = 1.0, // global L2 bound of a step's gradients, > 0; null: none
    val mixRatio: Double = 0.5, // share of every batch drawn from the pool, in [0, 1)
    val replayClips: Int = 1024, // user clips kept for mixing (oldest dropped), >= 0
    val balancedMix: Boolean = false, // pool draws fill every batch to an equal class share
    val addedClassMass: Double = 1.0, // balanced share of a class known only from added rows
    val imprint: Boolean = true, // enrol: the new column starts at its clips' mean embedding
) {
    init {
        fun need(ok: Boolean, what: String) {
            if (!ok) throw TrainingInputError("TrainConfig: $what")
        }
        need(learningRate > 0 && learningRate.isFinite(), "learningRate must be > 0")
        need(momentum >= 0 && momentum < 1, "momentum must be in [0, 1)")
        need(clipNorm == null || (clipNorm > 0 && clipNorm.isFinite()), "clipNorm must be > 0")
        need(mixRatio >= 0 && mixRatio < 1, "mixRatio must be in [0, 1)")
        need(replayClips >= 0, "replayClips must be >= 0")
        need(addedClassMass > 0 && addedClassMass.isFinite(), "addedClassMass must be > 0")
    }
}
