package ai.edgekit.demo.core.npy

/**
 * An n-dimensional array in C (row-major) order, of one of the dtypes the bundle, its updates
 * and the app's state use. [shape] is numpy's; the data holds `shape.product()` values.
 */
sealed class NdArray(shape: IntArray) {
    val shape: IntArray = shape.copyOf()

    /** numpy's `descr` of this dtype, little-endian (`<f4`, `<i8`, `|u1`, `<U7`...). */
    abstract val descr: String

    /** Values in the array: the product of [shape] (1 for a 0-d array). */
    val size: Int get() = count(shape)

    init {
        require(shape.all { it >= 0 }) { "a shape holds no negative size: ${shape.toList()}" }
    }

    protected fun checkSize(length: Int) {
        require(length == count(shape)) {
            "$length values do not fill the shape ${shape.toList()} (${count(shape)} values)"
        }
    }

    class Float32(shape: IntArray, val data: FloatArray) : NdArray(shape) {
        init {
            checkSize(data.size)
        }
        override val descr get() = "<f4"
    }

    class Float64(shape: IntArray, val data: DoubleArray) : NdArray(shape) {
        init {
            checkSize(data.size)
        }
        override val descr get() = "<f8"
    }

    class Int32(shape: IntArray, val data: IntArray) : NdArray(shape) {
        init {
            checkSize(data.size)
        }
        override val descr get() = "<i4"
    }

    class Int64(shape: IntArray, val data: LongArray) : NdArray(shape) {
        init {
            checkSize(data.size)
        }
        override val descr get() = "<i8"
    }

    /** numpy `uint8` (e.g. JSON text stored as bytes); values as unsigned bytes. */
    class UInt8(shape: IntArray, val data: ByteArray) : NdArray(shape) {
        init {
            checkSize(data.size)
        }
        override val descr get() = "|u1"
    }

    class Bool(shape: IntArray, val data: BooleanArray) : NdArray(shape) {
        init {
            checkSize(data.size)
        }
        override val descr get() = "|b1"
    }

    /**
     * numpy's fixed-width unicode strings (`<U{width}`, UTF-32): [width] is counted in code
     * points, at least the longest string's and at least 1, as `np.array(list_of_str)` makes it.
     */
    class Unicode(shape: IntArray, val data: Array<String>, width: Int = 0) : NdArray(shape) {
        val width: Int = maxOf(1, width, data.maxOfOrNull { it.codePointCount(0, it.length) } ?: 1)

        init {
            checkSize(data.size)
        }
        override val descr get() = "<U$width"
    }

    override fun toString() = "${javaClass.simpleName}${shape.toList()}"

    companion object {
        fun count(shape: IntArray): Int {
            var n = 1L
            for (d in shape) {
                n *= d
                require(n <= Int.MAX_VALUE) { "shape ${shape.toList()} is too large" }
            }
            return n.toInt()
        }

        fun of(values: FloatArray, vararg shape: Int) =
            Float32(if (shape.isEmpty()) intArrayOf(values.size) else shape, values)

        fun of(values: LongArray, vararg shape: Int) =
            Int64(if (shape.isEmpty()) intArrayOf(values.size) else shape, values)

        fun of(values: List<String>) = Unicode(intArrayOf(values.size), values.toTypedArray())
    }
}
