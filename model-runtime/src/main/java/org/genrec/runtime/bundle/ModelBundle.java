package org.genrec.runtime.bundle;

import org.genrec.runtime.encoding.TextTokenizer;

import java.nio.file.Path;

/** A bundle read from disk and checked, before any ONNX session exists. */
public record ModelBundle(Path directory, Manifest manifest, ItemCatalog items, TextTokenizer tokenizer, CoOccurrence coOccurrence) {

    public Path graphFile(String graphName) {
        return directory.resolve(manifest.graph(graphName).file());
    }
}
