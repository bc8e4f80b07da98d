"""Evaluation: metrics (PSNR, SSIM, LPIPS-AlexNet, dlib identity distance) and the eval runner."""
