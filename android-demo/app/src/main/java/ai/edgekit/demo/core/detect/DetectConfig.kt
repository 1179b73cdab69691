package ai.edgekit.demo.core.detect

import ai.edgekit.demo.core.json.Fields
import ai.edgekit.demo.core.json.Json
import ai.edgekit.demo.core.json.JsonShapeError

/** Detection settings that break edgekit's rules; the message names the field. */
class DetectConfigError(message: String) : Exception(message)

/**
 * How keywords are detected in a stream: the manifest's `detection`, with the bounds of
 * `edgekit.export.detection.DetectConfig` (the Python SDK writes it, the app reads it).
 */
data class DetectConfig(
    val hopSeconds: Double = 0.1, // between window centres, in [0.001, 10]
    val smoothSeconds: Double = 0.3, // posterior moving average over this much audio, [0, 10]
    val threshold: Double = 0.7, // smoothed posterior that opens an event, in (0, 1]
    val refractorySeconds: Double = 1.0, // after an event opens, no other opens within, [0, 3600]
    val keywords: List<String>? = null, // null: every live label but _silence_ and _unknown_
    val batch: Int = 4, // windows per embed call, [1, 65536] (lowered to the bundle's max_batch)
) {
    init {
        fun need(ok: Boolean, field: String, rule: String, value: Any?) {
            if (!ok) throw DetectConfigError("DetectConfig.$field must be $rule, got $value")
        }
        need(
            hopSeconds.isFinite() && hopSeconds in 0.001..10.0,
            "hop_seconds",
            "a number of seconds in [0.001, 10]",
            hopSeconds,
        )
        need(
            smoothSeconds.isFinite() && smoothSeconds in 0.0..10.0,
            "smooth_seconds",
            "a number of seconds in [0, 10]",
            smoothSeconds,
        )
        need(
            threshold.isFinite() && threshold > 0 && threshold <= 1,
            "threshold",
            "a number in (0, 1]",
            threshold,
        )
        need(
            refractorySeconds.isFinite() && refractorySeconds in 0.0..3600.0,
            "refractory_seconds",
            "a number of seconds in [0, 3600]",
            refractorySeconds,
        )
        need(batch in 1..65_536, "batch", "an integer in [1, 65536]", batch)
        need(
            keywords == null || (
                keywords.all { it.isNotEmpty() } &&
                    keywords.toSet().size == keywords.size && keywords.isNotEmpty()
                ),
            "keywords",
            "None (every live label but _silence_ and _unknown_) or distinct names",
            keywords,
        )
    }

    /** Windows averaged into each smoothed posterior (at least the window itself); Python's
     * `round` (half to even) of smooth over hop. */
    fun smoothWindows(): Int = maxOf(1, Math.rint(smoothSeconds / hopSeconds).toInt())

    fun toJson(): Json.Obj = Json.obj(
        "hop_seconds" to Json.of(hopSeconds),
        "smooth_seconds" to Json.of(smoothSeconds),
        "threshold" to Json.of(threshold),
        "refractory_seconds" to Json.of(refractorySeconds),
        "keywords" to (keywords?.let { k -> Json.arr(k.map { Json.of(it) }) } ?: Json.Null),
        "batch" to Json.of(batch),
    )

    companion object {
        private val FIELDS =
            setOf("hop_seconds", "smooth_seconds", "threshold", "refractory_seconds", "keywords") +
                "batch"

        /** The settings [fields] holds: exactly the six fields, each within its bounds. */
        fun from(fields: Fields): DetectConfig {
            if (fields.keys != FIELDS) {
                val got = fields.keys.sorted()
                val want = FIELDS.sorted()
                throw DetectConfigError("detection settings must have exactly $want, got $got")
            }
            return try {
                DetectConfig(
                    hopSeconds = fields.double("hop_seconds"),
                    smoothSeconds = fields.double("smooth_seconds"),
                    threshold = fields.double("threshold"),
                    refractorySeconds = fields.double("refractory_seconds"),
                    keywords = if (fields.isNull("keywords")) null else fields.strings("keywords"),
                    batch = fields.int("batch"),
                )
            } catch (e: JsonShapeError) {
                throw DetectConfigError(e.message ?: "invalid detection settings")
            }
        }
    }
}
