package ai.edgekit.demo.core.bundle

import ai.edgekit.demo.core.npy.NdArray
import ai.edgekit.demo.core.npy.NpyFormatError
import ai.edgekit.demo.core.npy.Npz
import ai.edgekit.demo.core.signing.sha256Hex
import java.io.File
import java.io.IOException

/**
 * A bundle on the device's storage, as `edgekit export` writes it: `manifest.json`,
 * `model.pte` (the ExecuTorch program), `weights.npz` (the trainable tensors `classify` takes)
 * and `d0.npz` (the global set's features and labels, mixed into training).
 */
class BundleFolder private constructor(val folder: File, val manifest: Manifest) {
    val program: File get() = File(folder, "model.pte")

    /** The exported trainable tensors by name, each of its manifest shape. */
    fun weights(): Map<String, NdArray.Float32> {
        val file = file("weights.npz")
        val arrays = arrays(file)
        return manifest.trainable.associate { spec ->
            val array = arrays[spec.name] as? NdArray.Float32
                ?: throw CorruptBundle("$file lacks the float32 tensor ${spec.name}")
            if (!array.shape.contentEquals(spec.shape)) {
                val shapes = "${array.shape.toList()}, the manifest says ${spec.shape.toList()}"
                throw CorruptBundle("$file: ${spec.name} is $shapes")
            }
            spec.name to array
        }
    }

    /** D0: (n, featureSize) float32 features and their (n,) slot labels. */
    fun d0(): Pair<NdArray.Float32, NdArray.Int64> {
        val file = file("d0.npz")
        val arrays = arrays(file)
        val features = arrays["features"] as? NdArray.Float32
        val labels = arrays["labels"] as? NdArray.Int64
        if (features == null || labels == null) {
            throw CorruptBundle("$file must hold float32 'features' and int64 'labels'")
        }
        val n = labels.shape.firstOrNull() ?: -1
        val width = manifest.featureSize
        if (labels.shape.size != 1 || !features.shape.contentEquals(intArrayOf(n, width))) {
            val shapes = "${features.shape.toList()} and labels ${labels.shape.toList()}"
            throw CorruptBundle("$file: features $shapes are not (n, $width) and (n,)")
        }
        if (labels.data.any { it !in 0 until manifest.maxClasses }) {
            throw CorruptBundle("$file: a label is not a slot of 0..${manifest.maxClasses - 1}")
        }
        return features to labels
    }

    private fun file(name: String) = File(folder, name)

    private fun arrays(file: File): Map<String, NdArray> = try {
        Npz.read(file)
    } catch (e: NpyFormatError) {
        throw CorruptBundle(e.message ?: "$file is not readable")
    } catch (e: IOException) {
        throw CorruptBundle("$file is not readable (${e.message})")
    }

    companion object {
        /**
         * The bundle in [folder], its manifest checked and, when [verify], its files: exactly
         * those the manifest lists (besides itself), each with its sha256.
         */
        fun open(folder: File, verify: Boolean = true): BundleFolder {
            if (folder.exists() && !folder.isDirectory) {
                throw CorruptBundle("$folder is a file: a bundle is a folder (`edgekit export`)")
            }
            val path = File(folder, Manifest.FILE)
            if (!path.isFile) {
                throw CorruptBundle("$path not found: $folder is not an edgekit bundle")
            }
            val text = try {
                path.readText(Charsets.UTF_8)
            } catch (e: IOException) {
                throw CorruptBundle("$path is not readable (${e.message})")
            }
            val manifest = Manifest.parse(text, path.path)
            if (verify) checkFiles(folder, manifest)
            return BundleFolder(folder, manifest)
        }

        private fun checkFiles(folder: File, manifest: Manifest) {
            val present = (folder.list()?.toSet() ?: emptySet()) - Manifest.FILE
            val missing = (manifest.files.keys - present).sorted()
            if (missing.isNotEmpty()) {
                throw CorruptBundle("${File(folder, missing[0])} is missing from the bundle")
            }
            val extra = (present - manifest.files.keys).sorted()
            if (extra.isNotEmpty()) {
                throw CorruptBundle(
                    "${File(folder, extra[0])} is not part of the bundle (its manifest does not " +
                        "list it): remove it or export the bundle again",
                )
            }
            for ((name, expected) in manifest.files) {
                val file = File(folder, name)
                if (sha256Hex(file) != expected) {
                    val why = "does not match its sha256 in ${Manifest.FILE}: tampered or truncated"
                    throw CorruptBundle("$file $why")
                }
            }
        }
    }
}
