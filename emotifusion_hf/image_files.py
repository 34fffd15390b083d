"""Which files count as images when a folder is read: the dataset builder's folder readers and
`emotifusion predict --calibration-images DIR` agree on this one list. Imports nothing."""

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif")


def is_image_file(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS)


__all__ = ["IMAGE_EXTENSIONS", "is_image_file"]
