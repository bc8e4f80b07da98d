"""Training: dataset of aligned faces, the bridge/regression training loop, export to safetensors."""
