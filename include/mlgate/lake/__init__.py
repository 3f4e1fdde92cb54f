"""The store (a folder or S3): zones, partitions, file names, atomic commits, lineage."""
