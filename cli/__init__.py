"""mimicsync.cli"""
