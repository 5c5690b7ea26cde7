"""mimicsync.protocols"""
