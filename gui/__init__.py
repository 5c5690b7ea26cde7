"""mimicsync.gui"""
