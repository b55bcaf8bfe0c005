"""Chat-platform front ends. Each platform is a thin subpackage over the `finetuning` core."""
