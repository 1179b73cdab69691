"""The hub: signed bundle versions delivered to devices (signing so far)."""
