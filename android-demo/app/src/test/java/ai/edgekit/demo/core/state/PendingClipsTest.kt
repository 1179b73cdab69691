package ai.edgekit.demo.core.state

import ai.edgekit.demo.core.npy.NdArray
import ai.edgekit.demo.core.npy.Npz
import ai.edgekit.demo.core.testing.Fixtures
import ai.edgekit.demo.core.train.ClipSet
import ai.edgekit.demo.core.train.TrainData
import org.junit.Test
import java.io.File
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue

/**
 * The clips recorded and not trained yet, on disk, with the program's real features of clips:
 * they come back bit for bit across a restart; a save killed before its rename leaves the
 * previous file; a damaged file, or one embedded by another backbone, is set aside (kept byte
 * for byte), reported, and the app goes on with no pending clip.
 */
class PendingClipsTest {
    private val manifest get() = Versions.manifest

    private fun folder(name: String) = File(Fixtures.out, "pending/$name").apply {
        deleteRecursively()
        mkdirs()
    }

    private fun clips(): ClipSet {
        val noise = TrainData.noiseFeatures()
        var set = ClipSet.empty(manifest.featureSize)
        val width = manifest.featureSize
        for (i in 0 until noise.shape[0]) {
            val word = if (i % 2 == 0) "noise" else "caf\u00e9 \uD834\uDD1E" // a clef: UTF-32
            set = set.plus(word, noise.data.copyOfRange(i * width, (i + 1) * width))
        }
        return set
    }

    @Test
    fun `recorded clips come back whole after a restart`() {
        val dir = folder("roundtrip")
        val store = PendingClips(dir, manifest)
        assertEquals(0, store.load().clips.size)
        val set = clips()
        store.save(set)
        val back = PendingClips(dir, manifest).load()
        assertNull(back.problem)
        assertEquals(set.words, back.clips.words)
        assertContentEquals(set.features.data, back.clips.features.data)
        val arrays = Npz.read(store.file)
        assertEquals(listOf("features", "words", "backbone_hash"), arrays.keys.toList())
        assertEquals(listOf(PendingClips.FILE), dir.list()!!.toList(), "no file left over")
        store.save(ClipSet.empty(manifest.featureSize))
        assertEquals(0, PendingClips(dir, manifest).load().clips.size, "an empty set is saved")
    }

    @Test
    fun `a save killed before its rename leaves the previous clips`() {
        val dir = folder("killed")
        PendingClips(dir, manifest).save(clips())
        val saved = File(dir, PendingClips.FILE).readBytes()
        val temp = File(dir, ".${PendingClips.FILE}.4711.tmp").apply {
            writeBytes(saved.copyOf(saved.size / 2))
        }
        val back = PendingClips(dir, manifest).load()
        assertFalse(temp.exists())
        assertEquals(clips().words, back.clips.words)
    }

    @Test
    fun `a damaged file or one of another backbone is set aside and reported`() {
        val dir = folder("damaged")
        val store = PendingClips(dir, manifest)
        store.save(clips())
        val bytes = store.file.readBytes()
        val damaged = bytes.copyOf().also { it[it.size / 3] = (it[it.size / 3] + 1).toByte() }
        store.file.writeBytes(damaged)
        val read = store.load()
        assertEquals(0, read.clips.size)
        assertTrue(read.problem!!.contains("set aside"), read.problem)
        val aside = assertNotNull(read.setAside)
        assertTrue(aside.name.startsWith("${PendingClips.FILE}.${PendingClips.DAMAGED}-"))
        assertContentEquals(damaged, aside.readBytes())
        assertFalse(store.file.exists())

        val other = PendingClips(folder("other"), Versions.of(backboneHash = "3".repeat(64)))
        other.save(clips())
        val elsewhere = PendingClips(other.folder, manifest).load()
        assertEquals(0, elsewhere.clips.size)
        assertTrue(elsewhere.problem!!.contains("another backbone"), elsewhere.problem)
        assertTrue(elsewhere.setAside!!.name.contains(PendingClips.OTHER_BACKBONE))

        val wrong = PendingClips(folder("shape"), manifest)
        wrong.file.writeBytes(
            Npz.write(
                mapOf(
                    "features" to NdArray.Float32(intArrayOf(1, 3), FloatArray(3)),
                    "words" to NdArray.of(listOf("noise")),
                    "backbone_hash" to NdArray.of(listOf(manifest.backboneHash)),
                ),
            ),
        )
        assertTrue(wrong.load().problem!!.contains("does not hold features"))
        assertFailsWith<IllegalArgumentException> {
            wrong.save(ClipSet(NdArray.Float32(intArrayOf(1, 3), FloatArray(3)), listOf("x")))
        }
    }
}
