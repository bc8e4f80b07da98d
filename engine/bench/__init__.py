"""`facebridge bench`'s measurements, one module per subject: photo (the network, the whole-photo pipeline and the
peers), tuning (batch sizes, re-restores, the batch engine), training (images per second) and upscale
(Real-ESRGAN). Every number printed is one this machine measured."""
