"""The evaluation harness: gold questions, run through the same code path as `citeqa ask`, scored."""
