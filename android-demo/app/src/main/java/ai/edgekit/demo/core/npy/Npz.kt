package ai.edgekit.demo.core.npy

import java.io.File

/**
 * numpy's `.npz`: a zip archive of `<name>.npy` entries, as `np.savez` writes and `np.load`
 * reads them. Names map to arrays in the archive's order.
 */
object Npz {
    /** The arrays of [bytes]; [what] names the file in error messages. */
    fun read(bytes: ByteArray, what: String = "archive"): LinkedHashMap<String, NdArray> {
        val entries = try {
            Zip.read(bytes)
        } catch (e: ZipFormatError) {
            throw NpyFormatError("$what is not a readable .npz (${e.message})")
        }
        val out = LinkedHashMap<String, NdArray>()
        for ((entry, data) in entries) {
            if (!entry.endsWith(".npy")) {
                throw NpyFormatError("$what holds $entry, which is not a .npy array")
            }
            val name = entry.removeSuffix(".npy")
            out[name] = Npy.decode(data, "$what:$name")
        }
        return out
    }

    fun read(file: File): LinkedHashMap<String, NdArray> = read(file.readBytes(), file.path)

    /** The `.npz` bytes of [arrays], stored uncompressed like `np.savez`. */
    fun write(arrays: Map<String, NdArray>): ByteArray =
        Zip.write(arrays.entries.associate { (name, array) -> "$name.npy" to Npy.encode(array) })
}
