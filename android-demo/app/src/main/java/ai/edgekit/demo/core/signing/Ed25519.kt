package ai.edgekit.demo.core.signing

import org.bouncycastle.crypto.params.Ed25519PublicKeyParameters
import org.bouncycastle.crypto.signers.Ed25519Signer

/** Whether [signature] is [publicKey]'s signature of [message]; false for anything malformed. */
fun interface SignatureCheck {
    fun isValid(publicKey: ByteArray, message: ByteArray, signature: ByteArray): Boolean
}

/**
 * Ed25519 (RFC 8032) through Bouncy Castle's lightweight API, the same class on the JVM and on
 * every Android version: the platform's own Ed25519 exists only from API 33, and calling the
 * signer directly needs no JCA provider (Android ships a cut-down Bouncy Castle of its own
 * under another package, so the two never clash).
 */
object Ed25519 : SignatureCheck {
    const val KEY_BYTES = 32
    const val SIGNATURE_BYTES = 64

    override fun isValid(publicKey: ByteArray, message: ByteArray, signature: ByteArray): Boolean {
        if (publicKey.size != KEY_BYTES || signature.size != SIGNATURE_BYTES) return false
        return try {
            val signer = Ed25519Signer()
            signer.init(false, Ed25519PublicKeyParameters(publicKey, 0))
            signer.update(message, 0, message.size)
            signer.verifySignature(signature)
        } catch (e: IllegalArgumentException) {
            false // a key that is not a curve point
        }
    }
}
