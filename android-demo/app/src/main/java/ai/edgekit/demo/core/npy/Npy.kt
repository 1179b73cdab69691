package ai.edgekit.demo.core.npy

import java.nio.BufferUnderflowException
import java.nio.ByteBuffer
import java.nio.ByteOrder

/** Bytes that are not a `.npy` array this reader supports; the message says why. */
class NpyFormatError(message: String) : Exception(message)

/**
 * numpy's `.npy` format (numpy/lib/format.py): a magic string, a version, a header that is a
 * Python dict literal (`descr`, `fortran_order`, `shape`) padded to 64 bytes, then the values.
 * [encode] writes exactly the bytes `np.save` writes (version 1.0, C order, little-endian);
 * [decode] reads versions 1 to 3, either byte order, C or Fortran order.
 */
object Npy {
    private val MAGIC = byteArrayOf(
        0x93.toByte(),
        'N'.code.toByte(),
        'U'.code.toByte(),
        'M'.code.toByte(),
        'P'.code.toByte(),
        'Y'.code.toByte(),
    )
    private const val ALIGN = 64 // numpy's ARRAY_ALIGN
    private const val GROWTH_AXIS_MAX_DIGITS = 21 // numpy leaves room to grow the first axis

    fun encode(array: NdArray): ByteArray {
        val shape = array.shape
        val shapeText = when (shape.size) {
            0 -> "()"
            1 -> "(${shape[0]},)"
            else -> shape.joinToString(", ", "(", ")")
        }
        var header = "{'descr': '${array.descr}', 'fortran_order': False, 'shape': $shapeText, }"
        if (shape.isNotEmpty()) header += " ".repeat(GROWTH_AXIS_MAX_DIGITS - "${shape[0]}".length)
        val headerLength = header.length + 1 // the closing newline
        val pad = ALIGN - (MAGIC.size + 2 + 2 + headerLength) % ALIGN
        require(headerLength + pad <= 0xffff) { "header of $array too long for .npy version 1.0" }
        val body = values(array)
        val out = ByteBuffer.allocate(MAGIC.size + 4 + headerLength + pad + body.size)
            .order(ByteOrder.LITTLE_ENDIAN)
        out.put(MAGIC).put(1).put(0).putShort((headerLength + pad).toShort())
        out.put(header.toByteArray(Charsets.ISO_8859_1))
        repeat(pad) { out.put(' '.code.toByte()) }
        out.put('\n'.code.toByte()).put(body)
        return out.array()
    }

    private fun values(array: NdArray): ByteArray {
        val width = when (array) {
            is NdArray.Float32, is NdArray.Int32 -> 4
            is NdArray.Float64, is NdArray.Int64 -> 8
            is NdArray.UInt8, is NdArray.Bool -> 1
            is NdArray.Unicode -> 4 * array.width
        }
        val buf = ByteBuffer.allocate(width * array.size).order(ByteOrder.LITTLE_ENDIAN)
        when (array) {
            is NdArray.Float32 -> buf.asFloatBuffer().put(array.data)
            is NdArray.Float64 -> buf.asDoubleBuffer().put(array.data)
            is NdArray.Int32 -> buf.asIntBuffer().put(array.data)
            is NdArray.Int64 -> buf.asLongBuffer().put(array.data)
            is NdArray.UInt8 -> buf.put(array.data)
            is NdArray.Bool -> array.data.forEach { buf.put(if (it) 1 else 0) }
            is NdArray.Unicode -> for (s in array.data) {
                val points = s.codePoints().toArray()
                points.forEach { buf.putInt(it) }
                repeat(array.width - points.size) { buf.putInt(0) }
            }
        }
        return buf.array()
    }

    /** The array in [bytes]; [name] is used in error messages. Damaged bytes of any kind raise
     * [NpyFormatError] and nothing else. */
    fun decode(bytes: ByteArray, name: String = "array"): NdArray = try {
        parse(bytes, name)
    } catch (e: IndexOutOfBoundsException) {
        throw NpyFormatError("$name is not a .npy array: truncated")
    } catch (e: BufferUnderflowException) {
        throw NpyFormatError("$name is not a .npy array: truncated")
    }

    private fun parse(bytes: ByteArray, name: String): NdArray {
        fun fail(why: String): Nothing = throw NpyFormatError("$name is not a .npy array: $why")
        if (bytes.size < MAGIC.size + 4 || !bytes.copyOf(MAGIC.size).contentEquals(MAGIC)) {
            fail("no .npy magic string")
        }
        val buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN)
        val major = bytes[6].toInt()
        buf.position(8)
        val headerLength = when (major) {
            1 -> buf.short.toInt() and 0xffff
            2, 3 -> buf.int.also { if (it < 0) fail("header length out of range") }
            else -> fail("unsupported version $major.${bytes[7]}")
        }
        if (buf.remaining() < headerLength) fail("truncated header")
        val headerBytes = ByteArray(headerLength).also { buf.get(it) }
        val header = String(headerBytes, if (major == 3) Charsets.UTF_8 else Charsets.ISO_8859_1)
        val fields = try {
            HeaderLiteral(header).dict()
        } catch (e: IllegalArgumentException) {
            fail("unreadable header (${e.message})")
        }
        if (fields.keys != setOf("descr", "fortran_order", "shape")) {
            fail("header keys ${fields.keys.sorted()} are not descr, fortran_order, shape")
        }
        val descr = fields["descr"] as? String ?: fail("descr ${fields["descr"]} is not a dtype")
        val fortran = fields["fortran_order"] as? Boolean ?: fail("fortran_order is not a bool")

        @Suppress("UNCHECKED_CAST")
        val shape = (fields["shape"] as? List<Long> ?: fail("shape is not a tuple of integers"))
            .map { if (it in 0..Int.MAX_VALUE) it.toInt() else fail("shape size $it out of range") }
            .toIntArray()
        val count = try {
            NdArray.count(shape)
        } catch (e: IllegalArgumentException) {
            fail("${e.message}")
        }
        val array = read(descr, shape, count, buf.slice(), ::fail)
        return if (fortran && shape.size > 1) fromFortran(array) else array
    }

    private fun read(
        descr: String,
        shape: IntArray,
        count: Int,
        data: ByteBuffer,
        fail: (String) -> Nothing,
    ): NdArray {
        if (descr.length < 3) fail("unsupported dtype '$descr'")
        data.order(
            when (descr[0]) {
                '<', '|', '=' -> ByteOrder.LITTLE_ENDIAN
                '>' -> ByteOrder.BIG_ENDIAN
                else -> fail("unsupported dtype '$descr'")
            },
        )
        val kind = descr.substring(1)
        val itemSize: Long = when (kind) {
            "f4", "i4" -> 4L
            "f8", "i8" -> 8L
            "u1", "b1" -> 1L
            else -> if (kind.startsWith("U")) {
                val width = kind.substring(1).toIntOrNull()?.takeIf { it > 0 }
                4L * (width ?: fail("bad dtype '$descr'"))
            } else {
                fail("unsupported dtype '$descr' (float32/64, int32/64, uint8, bool, unicode)")
            }
        }
        if (data.remaining().toLong() != itemSize * count) {
            fail("${data.remaining()} bytes of data for $count values of '$descr'")
        }
        return when (kind) {
            "f4" -> NdArray.Float32(shape, FloatArray(count).also { data.asFloatBuffer().get(it) })
            "f8" -> {
                val values = DoubleArray(count).also { data.asDoubleBuffer().get(it) }
                NdArray.Float64(shape, values)
            }
            "i4" -> NdArray.Int32(shape, IntArray(count).also { data.asIntBuffer().get(it) })
            "i8" -> NdArray.Int64(shape, LongArray(count).also { data.asLongBuffer().get(it) })
            "u1" -> NdArray.UInt8(shape, ByteArray(count).also { data.get(it) })
            "b1" -> NdArray.Bool(shape, BooleanArray(count) { data.get().toInt() != 0 })
            else -> {
                val width = (itemSize / 4).toInt()
                val ints = data.asIntBuffer()
                val strings = Array(count) {
                    val points = IntArray(width) { ints.get() }
                    var end = width
                    while (end > 0 && points[end - 1] == 0) end-- // numpy strips trailing NULs
                    if (points.take(end).any { it !in 0..0x10ffff }) fail("invalid code point")
                    String(points, 0, end)
                }
                NdArray.Unicode(shape, strings, width)
            }
        }
    }

    /** The same array with its values moved from Fortran (column-major) to C order. */
    private fun fromFortran(array: NdArray): NdArray {
        val shape = array.shape
        val order = IntArray(array.size) // order[c] = position in Fortran order of C position c
        val index = IntArray(shape.size)
        for (c in order.indices) {
            var f = 0
            for (k in shape.indices.reversed()) f = f * shape[k] + index[k]
            order[c] = f
            var k = shape.size - 1 // next C multi-index: the last axis moves fastest
            while (k >= 0) {
                if (++index[k] < shape[k]) break
                index[k] = 0
                k--
            }
        }
        val n = order.size
        return when (array) {
            is NdArray.Float32 -> NdArray.Float32(shape, FloatArray(n) { array.data[order[it]] })
            is NdArray.Float64 -> NdArray.Float64(shape, DoubleArray(n) { array.data[order[it]] })
            is NdArray.Int32 -> NdArray.Int32(shape, IntArray(n) { array.data[order[it]] })
            is NdArray.Int64 -> NdArray.Int64(shape, LongArray(n) { array.data[order[it]] })
            is NdArray.UInt8 -> NdArray.UInt8(shape, ByteArray(n) { array.data[order[it]] })
            is NdArray.Bool -> NdArray.Bool(shape, BooleanArray(n) { array.data[order[it]] })
            is NdArray.Unicode ->
                NdArray.Unicode(shape, Array(n) { array.data[order[it]] }, array.width)
        }
    }
}
