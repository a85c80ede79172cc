"""Image data: conversion between PIL images and tensors, and (later) datasets."""
