"""mimicsync.acquisition"""
