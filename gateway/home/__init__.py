"""Bringing an upstream's trained adapter home: downloaded, unpacked and served by ftgate's engine."""
