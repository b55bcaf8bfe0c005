"""The dataset engine: read a training file once, check it, count its tokens, estimate its cost."""
