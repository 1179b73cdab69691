"""The hub: signed bundle versions for devices (so far: signing, the blob store, staged rollout)."""
