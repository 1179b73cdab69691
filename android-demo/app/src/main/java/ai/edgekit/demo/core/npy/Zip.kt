package ai.edgekit.demo.core.npy

import java.io.ByteArrayOutputStream
import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.util.zip.CRC32
import java.util.zip.DataFormatException
import java.util.zip.Inflater

/** Bytes that are not a zip archive this reader can read; the message says why. */
class ZipFormatError(message: String) : Exception(message)

/**
 * The zip container of `.npz` files, read and written here rather than by `java.util.zip.ZipFile`
 * so that the same code runs on every Android version and on the JVM: numpy writes every entry
 * with a Zip64 extra field (`force_zip64`), which older Android zip readers refuse.
 *
 * Reading goes through the central directory (Zip64 records included), accepts stored and
 * deflated entries and checks each entry's CRC-32, as Python's `zipfile` does. Writing stores
 * entries uncompressed, as `np.savez` does.
 */
object Zip {
    private const val LOCAL = 0x04034b50
    private const val CENTRAL = 0x02014b50
    private const val END = 0x06054b50
    private const val END64 = 0x06064b50
    private const val END64_LOCATOR = 0x07064b50
    private const val MAX32 = 0xffffffffL
    private const val UTF8_FLAG = 1 shl 11
    private const val DOS_DATE_1980 = 0x21 // 1980-01-01, the date numpy's entries carry

    /**
     * The entries of [bytes] in the central directory's order: name -> content. Whatever the
     * bytes (truncated, bit-flipped, foreign), the only failure is a [ZipFormatError].
     */
    fun read(bytes: ByteArray): LinkedHashMap<String, ByteArray> = try {
        entries(bytes)
    } catch (e: IndexOutOfBoundsException) { // a length field pointing past the end
        throw ZipFormatError("a record runs past the end of the archive (truncated?)")
    }

    private fun entries(bytes: ByteArray): LinkedHashMap<String, ByteArray> {
        val buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN)
        val end = findEnd(buf)
        var count = buf.getShort(end + 10).toLong() and 0xffff
        var dirOffset = buf.getInt(end + 16).toLong() and MAX32
        val locator = end - 20
        if (locator >= 0 && buf.getInt(locator) == END64_LOCATOR) {
            val end64 = checkedOffset(buf.getLong(locator + 8), 56, bytes.size, "Zip64 end record")
            if (buf.getInt(end64) != END64) {
                throw ZipFormatError("no Zip64 end record where its locator says")
            }
            count = buf.getLong(end64 + 32)
            dirOffset = buf.getLong(end64 + 48)
        }
        val out = LinkedHashMap<String, ByteArray>()
        var pos = checkedOffset(dirOffset, 0, bytes.size, "central directory")
        for (i in 0 until count) {
            if (pos + 46 > bytes.size || buf.getInt(pos) != CENTRAL) {
                throw ZipFormatError("central directory entry $i is damaged")
            }
            val flags = buf.getShort(pos + 8).toInt() and 0xffff
            val method = buf.getShort(pos + 10).toInt() and 0xffff
            val crc = buf.getInt(pos + 16).toLong() and MAX32
            var packed = buf.getInt(pos + 20).toLong() and MAX32
            var size = buf.getInt(pos + 24).toLong() and MAX32
            val nameLength = buf.getShort(pos + 28).toInt() and 0xffff
            val extraLength = buf.getShort(pos + 30).toInt() and 0xffff
            val commentLength = buf.getShort(pos + 32).toInt() and 0xffff
            var local = buf.getInt(pos + 42).toLong() and MAX32
            val fieldsEnd = pos + 46 + nameLength + extraLength
            if (fieldsEnd + commentLength > bytes.size) {
                throw ZipFormatError("entry $i runs past the end")
            }
            val name = String(
                bytes,
                pos + 46,
                nameLength,
                if (flags and UTF8_FLAG != 0) Charsets.UTF_8 else Charsets.ISO_8859_1,
            )
            if (flags and 1 != 0) throw ZipFormatError("$name is encrypted")
            var extra = pos + 46 + nameLength
            while (extra + 4 <= fieldsEnd) { // Zip64: the 64-bit values of fields set to 0xffffffff
                val id = buf.getShort(extra).toInt() and 0xffff
                val length = buf.getShort(extra + 2).toInt() and 0xffff
                if (id == 1) {
                    var at = extra + 4
                    if (size == MAX32) size = buf.getLong(at).also { at += 8 }
                    if (packed == MAX32) packed = buf.getLong(at).also { at += 8 }
                    if (local == MAX32) local = buf.getLong(at)
                }
                extra += 4 + length
            }
            out[name] = content(bytes, buf, name, local, method, packed, size, crc)
            pos = fieldsEnd + commentLength
        }
        return out
    }

    private fun content(
        bytes: ByteArray,
        buf: ByteBuffer,
        name: String,
        localOffset: Long,
        method: Int,
        packed: Long,
        size: Long,
        crc: Long,
    ): ByteArray {
        val local = checkedOffset(localOffset, 30, bytes.size, "$name's local header")
        if (buf.getInt(local) != LOCAL) throw ZipFormatError("$name: no local header at its offset")
        val start = local + 30 + (buf.getShort(local + 26).toInt() and 0xffff) +
            (buf.getShort(local + 28).toInt() and 0xffff)
        if (packed > Int.MAX_VALUE || size > Int.MAX_VALUE || start + packed > bytes.size) {
            throw ZipFormatError("$name runs past the end of the archive (truncated?)")
        }
        val data = when (method) {
            0 -> bytes.copyOfRange(start, start + packed.toInt())
            8 -> inflate(bytes, start, packed.toInt(), size.toInt(), name)
            else -> throw ZipFormatError("$name: compression $method (stored, deflated only)")
        }
        if (data.size.toLong() != size) {
            throw ZipFormatError("$name holds ${data.size} bytes, not $size")
        }
        val check = CRC32().apply { update(data) }.value
        if (check != crc) throw ZipFormatError("bad CRC-32 for $name: the archive is damaged")
        return data
    }

    private fun inflate(
        bytes: ByteArray,
        start: Int,
        packed: Int,
        size: Int,
        name: String,
    ): ByteArray {
        val inflater = Inflater(true)
        try {
            inflater.setInput(bytes, start, packed)
            val out = ByteArray(size)
            var done = 0
            while (done < size) {
                val n = inflater.inflate(out, done, size - done)
                if (n == 0) break // finished, or the input ran out
                done += n
            }
            if (done != size) throw ZipFormatError("$name inflates to $done bytes, not $size")
            return out
        } catch (e: DataFormatException) {
            throw ZipFormatError("$name is not valid deflate data (${e.message})")
        } finally {
            inflater.end()
        }
    }

    private fun findEnd(buf: ByteBuffer): Int {
        val size = buf.limit()
        var pos = size - 22
        val stop = maxOf(0, size - 22 - 0xffff)
        while (pos >= stop) {
            val comment = buf.getShort(pos + 20).toInt() and 0xffff
            if (buf.getInt(pos) == END && pos + 22 + comment == size) return pos
            pos--
        }
        throw ZipFormatError("no end of central directory: not a zip archive, or truncated")
    }

    private fun checkedOffset(offset: Long, need: Int, size: Int, what: String): Int {
        if (offset < 0 || offset + need > size) {
            throw ZipFormatError("$what lies outside the archive")
        }
        return offset.toInt()
    }

    /** An archive of [entries] (name -> content), stored uncompressed, in the map's order. */
    fun write(entries: Map<String, ByteArray>): ByteArray {
        require(entries.size <= 0xffff) { "more than 65535 entries" }
        val out = ByteArrayOutputStream()
        val central = ByteArrayOutputStream()
        for ((name, data) in entries) {
            val entry = Entry(name, data, offset = out.size())
            require(entry.offset.toLong() + data.size < MAX32) { "archive over 4 GiB" }
            out.write(le(30 + entry.name.size) { local(entry) })
            out.write(data)
            central.write(le(46 + entry.name.size) { central(entry) })
        }
        val dirOffset = out.size()
        central.writeTo(out)
        out.write(
            le(22) {
                putInt(END).putShort(0).putShort(0)
                putShort(entries.size.toShort()).putShort(entries.size.toShort())
                putInt(central.size()).putInt(dirOffset).putShort(0)
            },
        )
        return out.toByteArray()
    }

    /** An entry being written: its name in UTF-8, flags, CRC-32 and where it starts. */
    private class Entry(name: String, val data: ByteArray, val offset: Int) {
        val name: ByteArray = name.toByteArray(Charsets.UTF_8)
        val flags: Short = (if (this.name.size != name.length) UTF8_FLAG else 0).toShort()
        val crc: Int = CRC32().apply { update(data) }.value.toInt()
    }

    private fun ByteBuffer.local(e: Entry) {
        putInt(LOCAL).putShort(20).putShort(e.flags).putShort(0) // version 2.0, stored
        putShort(0).putShort(DOS_DATE_1980.toShort()).putInt(e.crc)
        putInt(e.data.size).putInt(e.data.size)
        putShort(e.name.size.toShort()).putShort(0).put(e.name)
    }

    private fun ByteBuffer.central(e: Entry) {
        putInt(CENTRAL).putShort((3 shl 8 or 20).toShort()).putShort(20) // made on Unix, 2.0
        putShort(e.flags).putShort(0).putShort(0).putShort(DOS_DATE_1980.toShort())
        putInt(e.crc).putInt(e.data.size).putInt(e.data.size)
        putShort(e.name.size.toShort()).putShort(0).putShort(0) // no extra field, no comment
        putShort(0).putShort(0) // disk 0, no internal attributes
        putInt(0x180 shl 16).putInt(e.offset).put(e.name) // rw------- as Python writes it
    }

    private fun le(size: Int, fill: ByteBuffer.() -> Unit): ByteArray =
        ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN).apply(fill).array()
}
