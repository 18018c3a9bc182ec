"""What a reader studies: the networks of the course, one per module, and their shared base.

See the chapters named in each module.
"""
