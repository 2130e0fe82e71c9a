package org.genrec.plugin;

import org.genrec.plugin.model.ModelRegistry;
import org.genrec.plugin.query.NewItemTextCache;
import org.genrec.plugin.query.RankedHitsCache;

/** The node-level parts that queries need, created once by the plugin and handed to every query it parses. */
public record GenrecServices(ModelRegistry models, RankedHitsCache rankedHits, NewItemTextCache newItemTexts) {}
