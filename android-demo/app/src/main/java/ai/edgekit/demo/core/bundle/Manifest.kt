package ai.edgekit.demo.core.bundle

import ai.edgekit.demo.core.detect.DetectConfig
import ai.edgekit.demo.core.detect.DetectConfigError
import ai.edgekit.demo.core.json.Fields
import ai.edgekit.demo.core.json.Json
import ai.edgekit.demo.core.json.JsonShapeError
import java.security.MessageDigest

/** A bundle that cannot be used as it is; the message names the file and what is wrong. */
class CorruptBundle(message: String) : Exception(message)

/** A named tensor of the bundle and its shape (`feature_parts`, `trainable`); a trainable one
 * names its [layer] and its [kind] in it (`weight_t`, `bias`...). */
class TensorSpec(
    val name: String,
    shape: List<Int>,
    val layer: String? = null,
    val kind: String? = null,
) {
    val shape: IntArray = shape.toIntArray()
    val size: Int get() = shape.fold(1) { n, d -> n * d }

    override fun toString() = "$name${shape.toList()}"
}

/**
 * What the app needs of a bundle's `manifest.json` (`edgekit.export.manifest.Manifest`): the
 * labels and slots, the clip the program's `embed` takes, the features it returns, the
 * trainable tensors `classify` takes after them, batches, detection settings, file hashes.
 * [parse] checks what `edgekit.export.manifest.read_manifest` checks: schema, content digest,
 * each field's type and range, and the fields that must agree.
 */
class Manifest(
    val labels: List<String>, // live classes in slot order: slot i is labels[i]
    val maxClasses: Int, // slots of the head; labels.size <= maxClasses
    val arch: String,
    val sampleRate: Int, // Hz, of the PCM that embed takes
    val clipSamples: Int, // PCM samples per window / clip
    val cut: String,
    val featureParts: List<TensorSpec>, // per clip, at the cut
    val trainable: List<TensorSpec>, // in the order classify takes them
    val trainBatch: Int, // fixed batch of train_step
    val maxBatch: Int, // most rows embed / classify take at once
    val temperature: Double,
    val backboneHash: String, // the feature cache's key
    val detection: DetectConfig,
    val quantized: Boolean,
    val files: Map<String, String>, // every bundle file but manifest.json -> sha256
    val digest: String,
) {
    /** float32 values per clip at the cut: one feature-cache entry. */
    val featureSize: Int get() = featureParts.sumOf { it.size }

    companion object {
        const val SCHEMA = 5
        const val FILE = "manifest.json"
        val REQUIRED_FILES = setOf("model.pte", "weights.npz", "d0.npz")
        private const val MAX_SLOTS = 4096
        private const val MAX_BATCH = 65_536
        private const val MAX_CLIP_SAMPLES = 16_000 * 60
        private const val MAX_DIMENSION = 1L shl 24
        private val SHA256 = Regex("[0-9a-f]{64}")

        /** The manifest [text] holds; [CorruptBundle] for anything `read_manifest` refuses. */
        fun parse(text: String, where: String = FILE): Manifest {
            val f = try {
                Fields.parse(text, where)
            } catch (e: JsonShapeError) {
                throw CorruptBundle("$where is not a valid manifest (${e.message})")
            }
            val schema = f.obj["schema"]
            if ((schema as? Json.Num)?.toLongOrNull() != SCHEMA.toLong()) {
                throw CorruptBundle(
                    "$where has schema ${schema?.write()}; this app reads schema $SCHEMA: " +
                        "export the bundle again",
                )
            }
            val digest = (f.obj["digest"] as? Json.Str)?.value
            if (digest != contentDigest(f)) {
                throw CorruptBundle("$where was changed after export: its content digest differs")
            }
            return try {
                read(f, digest, where)
            } catch (e: JsonShapeError) {
                throw CorruptBundle("$where is not a valid manifest (${e.message})")
            } catch (e: DetectConfigError) {
                throw CorruptBundle("$where: the detection settings are invalid (${e.message})")
            }
        }

        /** sha256 of every field but `digest` as canonical JSON (Python's `content_digest`). */
        fun contentDigest(f: Fields): String {
            val body = Json.Obj(f.obj.fields.filterKeys { it != "digest" })
            val hash = MessageDigest.getInstance("SHA-256")
            return hash.digest(body.canonical().toByteArray(Charsets.US_ASCII))
                .joinToString("") { "%02x".format(it) }
        }

        private fun read(f: Fields, digest: String, where: String): Manifest {
            fun need(ok: Boolean, what: String) {
                if (!ok) throw CorruptBundle("$where: $what")
            }
            val slots = f.int("max_classes")
            need(slots in 1..MAX_SLOTS, "max_classes must be 1..$MAX_SLOTS, got $slots")
            val labels = f.strings("labels")
            need(labels.all { it.isNotEmpty() }, "labels must be a list of names")
            need(labels.toSet().size == labels.size, "labels repeat a name: $labels")
            need(labels.size <= slots, "${labels.size} labels do not fit $slots slots")
            val clip = f.int("clip_samples")
            need(clip in 1..MAX_CLIP_SAMPLES, "clip_samples must be 1..$MAX_CLIP_SAMPLES: $clip")
            val frontend = f.obj("frontend")
            val rate = frontend.int("sample_rate")
            need(rate > 0, "the front-end's sample_rate must be > 0, got $rate")
            val perClip = Math.rint(rate * frontend.double("clip_seconds")).toLong()
            need(perClip == clip.toLong(), "clip_samples $clip is not the front-end's $perClip")
            val trainBatch = f.int("train_batch")
            val maxBatch = f.int("max_batch")
            need(trainBatch in 1..MAX_BATCH, "train_batch must be 1..$MAX_BATCH")
            need(maxBatch in 2..MAX_BATCH, "max_batch must be 2..$MAX_BATCH")
            val temperature = f.double("temperature")
            need(temperature > 0, "temperature must be a finite number > 0, got $temperature")
            val arch = f.string("arch")
            val cut = f.string("cut")
            need(arch.isNotEmpty() && cut.isNotEmpty(), "arch and cut must be names")
            val backbone = f.string("backbone_hash")
            need(SHA256.matches(backbone), "backbone_hash must be a sha256 in hex")
            val parts = f.objects("feature_parts").map { TensorSpec(it.string("name"), shape(it)) }
            need(parts.isNotEmpty(), "feature_parts must list each part's shape")
            need(parts.all { it.shape.isNotEmpty() }, "a feature part has an empty shape")
            val trainable = f.objects("trainable").map { spec ->
                val layer = spec.takeIf { "layer" in it && !it.isNull("layer") }?.string("layer")
                val kind = spec.takeIf { "kind" in it && !it.isNull("kind") }?.string("kind")
                TensorSpec(spec.string("name"), shape(spec), layer, kind)
            }
            need(trainable.isNotEmpty(), "trainable must list each tensor's name and shape")
            need(trainable.map { it.name }.toSet().size == trainable.size, "trainable names repeat")
            val classifier = trainable.last().layer // its weight and bias: one column per slot
            for (t in trainable.filter { it.layer == classifier }) {
                val shape = t.shape.toList()
                need(shape.lastOrNull() == slots, "${t.name} has shape $shape, not $slots slots")
            }
            val detection = DetectConfig.from(f.obj("detection"))
            need(
                detection.batch <= maxBatch,
                "detection batch ${detection.batch} is over the bundle's max_batch $maxBatch",
            )
            val unknown = detection.keywords.orEmpty().filter { it !in labels }
            need(unknown.isEmpty(), "detection keywords $unknown are not labels of the bundle")
            val listed = f.obj("files")
            val files = listed.keys.associateWith { listed.string(it) }
            need(files.values.all { SHA256.matches(it) }, "files must map each file to its sha256")
            val unlisted = (REQUIRED_FILES - files.keys).sorted()
            need(unlisted.isEmpty(), "the manifest does not cover $unlisted")
            return Manifest(
                labels, slots, arch, rate, clip, cut, parts, trainable, trainBatch, maxBatch,
                temperature, backbone, detection, f.bool("quantized"), files, digest,
            )
        }

        private fun shape(f: Fields): List<Int> {
            val dims = f.longs("shape")
            if (dims.any { it !in 1..MAX_DIMENSION }) {
                throw JsonShapeError("${f.where}: shape sizes must be 1..2^24, got $dims")
            }
            return dims.map { it.toInt() }
        }
    }
}
