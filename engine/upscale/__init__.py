"""Background upscaling (Real-ESRGAN x4plus as a PyTorch RRDBNet): conversion from the ncnn release."""
