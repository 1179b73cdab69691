package ai.edgekit.demo.core.state

import ai.edgekit.demo.core.bundle.Manifest
import ai.edgekit.demo.core.io.AtomicFiles
import ai.edgekit.demo.core.npy.NdArray
import ai.edgekit.demo.core.npy.NpyFormatError
import ai.edgekit.demo.core.npy.Npz
import ai.edgekit.demo.core.train.ClipSet
import java.io.File
import java.io.IOException

/**
 * What [PendingClips.load] found: the pending [clips] (none when the file is missing or was
 * unusable) and, when the file was unusable, [problem] (why, for the screen) and where it was
 * set aside ([setAside]).
 */
class PendingRead(val clips: ClipSet, val problem: String? = null, val setAside: File? = null)

/**
 * The clips the user recorded and has not trained yet, kept across restarts in [folder] (the
 * app's private storage, for this store only): one `.npz` of `features` `(n, featureSize)`
 * float32 (each clip embedded once), `words` `(n,)` (numpy strings) and `backbone_hash`, the
 * key of the features (a bundle with another backbone embeds differently). Written whole or not
 * at all (a temp file beside it, fsync, rename).
 *
 * Clips cost the user only a few seconds each to record again, so an unusable file (damaged,
 * of another backbone or feature size) is not a question for the user as a damaged learner
 * state is: [load] renames it beside (`pending_clips.npz.<why>-<UTC time>`), says why and starts
 * from no clips. Call it from one thread at a time.
 */
class PendingClips(val folder: File, private val manifest: Manifest) {
    val file: File = File(folder, FILE)

    init {
        if (!folder.isDirectory && !folder.mkdirs()) throw IOException("cannot create $folder")
        AtomicFiles.cleanTemp(folder, FILE) // saves killed before their rename
    }

    /** The pending clips; an unusable file is set aside and reported (see the class). */
    fun load(): PendingRead {
        val empty = ClipSet.empty(manifest.featureSize)
        if (!file.exists()) return PendingRead(empty)
        return try {
            PendingRead(decode(file.readBytes()))
        } catch (e: Unusable) {
            val aside = setAside(e.tag)
            PendingRead(empty, "${e.message}: set aside as ${aside.name}", aside)
        } catch (e: IOException) {
            val aside = setAside(DAMAGED)
            PendingRead(empty, "$file is not readable (${e.message}): set aside", aside)
        }
    }

    /** Write [clips] whole (temp file, fsync, rename); an empty set is written too. */
    fun save(clips: ClipSet) {
        require(clips.featureSize == manifest.featureSize) {
            "clips of ${clips.featureSize} features, the bundle's are ${manifest.featureSize}"
        }
        val bytes = Npz.write(
            linkedMapOf(
                "features" to clips.features,
                "words" to NdArray.of(clips.words),
                "backbone_hash" to NdArray.of(listOf(manifest.backboneHash)),
            ),
        )
        AtomicFiles.write(file, bytes)
    }

    private fun decode(bytes: ByteArray): ClipSet {
        fun damaged(why: String): Nothing = throw Unusable("$file $why", DAMAGED)
        val arrays = try {
            Npz.read(bytes, file.path)
        } catch (e: NpyFormatError) {
            damaged("is not a readable archive (${e.message})")
        } catch (e: RuntimeException) { // a damaged header's sizes, offsets or shapes
            damaged("is not a readable archive ($e)")
        }
        val hash = (arrays["backbone_hash"] as? NdArray.Unicode)?.data?.singleOrNull()
            ?: damaged("holds no backbone_hash")
        if (hash != manifest.backboneHash) {
            throw Unusable("$file was embedded by another backbone", OTHER_BACKBONE)
        }
        val features = arrays["features"] as? NdArray.Float32
        val words = arrays["words"] as? NdArray.Unicode
        val width = manifest.featureSize
        if (features == null || words == null || words.shape.size != 1 ||
            !features.shape.contentEquals(intArrayOf(words.size, width))
        ) {
            damaged("does not hold features (n, $width) and n words: $features, $words")
        }
        if (!features.data.all { it.isFinite() }) damaged("holds NaN or Inf features")
        if (words.data.any { it.isEmpty() }) damaged("holds a clip of no word")
        return ClipSet(features, words.data.toList())
    }

    private fun setAside(tag: String): File = AtomicFiles.setAside(file, tag)

    /** Make a rename durable; best effort (some file systems refuse to sync a folder). */

    private class Unusable(message: String, val tag: String) : Exception(message)

    companion object {
        const val FILE = "pending_clips.npz"
        const val DAMAGED = "damaged"
        const val OTHER_BACKBONE = "other-backbone"
    }
}
