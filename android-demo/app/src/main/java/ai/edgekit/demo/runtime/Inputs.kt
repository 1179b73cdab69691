package ai.edgekit.demo.runtime

import ai.edgekit.demo.core.program.Dtype
import ai.edgekit.demo.core.program.MethodInput
import org.pytorch.executorch.EValue
import org.pytorch.executorch.Tensor

/** The tensor of [spec] over [data] (float32), checked to hold exactly its elements. */
internal fun input(spec: MethodInput, data: FloatArray): EValue {
    check(spec.dtype == Dtype.FLOAT32) { "$spec is not float32" }
    check(data.size.toLong() == spec.size) { "${data.size} values do not fill $spec" }
    return EValue.from(Tensor.fromBlob(data, spec.shape))
}

/** The tensor of [spec] over [data] (int64), checked to hold exactly its elements. */
internal fun input(spec: MethodInput, data: LongArray): EValue {
    check(spec.dtype == Dtype.INT64) { "$spec is not int64" }
    check(data.size.toLong() == spec.size) { "${data.size} values do not fill $spec" }
    return EValue.from(Tensor.fromBlob(data, spec.shape))
}
