"""sr_lab: waifu2x-family super-resolution experiments."""
