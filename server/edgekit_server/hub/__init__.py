"""The hub: signed bundle versions for devices (so far: signing and the blob store)."""
