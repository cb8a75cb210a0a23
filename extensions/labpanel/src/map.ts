/** The network map: accounts as nodes, friendships and ownership as edges (cytoscape, bundled). */

import cytoscape from 'cytoscape';

import { ILabState, mapElements } from './model';

const STYLE: cytoscape.StylesheetJson = [
  {
    selector: 'node',
    style: {
      label: 'data(label)',
      'font-size': 10,
      color: '#444',
      'text-valign': 'bottom',
      'text-margin-y': 3,
      width: 18,
      height: 18,
      'background-color': '#bbb',
      'border-width': 2,
      'border-color': '#999'
    }
  },
  { selector: 'node.thing', style: { shape: 'round-rectangle' } },
  { selector: 'node.owner', style: { shape: 'ellipse' } },
  { selector: 'node.unknown', style: { shape: 'diamond' } },
  { selector: 'node.online', style: { 'background-color': '#4caf50', 'border-color': '#2e7d32' } },
  { selector: 'node.offline', style: { opacity: 0.55 } },
  { selector: 'edge', style: { width: 2, 'curve-style': 'bezier' } },
  { selector: 'edge.friend', style: { 'line-color': '#1976d2' } },
  {
    selector: 'edge.owns',
    style: {
      'line-color': '#f57c00',
      'line-style': 'dashed',
      'target-arrow-shape': 'triangle',
      'target-arrow-color': '#f57c00'
    }
  }
];

export class NetworkMap {
  readonly cy: cytoscape.Core;

  constructor(readonly container: HTMLElement) {
    this.cy = cytoscape({
      container,
      style: STYLE,
      elements: [],
      minZoom: 0.3,
      maxZoom: 3,
      wheelSensitivity: 0.3
    });
  }

  /** Show `state`: nodes and edges added, removed or restyled; laid out again when the set changed. */
  update(state: ILabState): void {
    const { nodes, edges } = mapElements(state);
    const wanted = new Set([...nodes, ...edges].map(e => e.data.id));
    let changed = false;
    this.cy.batch(() => {
      this.cy.elements().forEach(element => {
        if (!wanted.has(element.id())) {
          element.remove();
          changed = true;
        }
      });
      for (const element of [...nodes, ...edges]) {
        const existing = this.cy.getElementById(element.data.id);
        if (existing.nonempty()) {
          existing.data(element.data);
          existing.classes(element.classes);
        } else {
          this.cy.add({ group: 'source' in element.data ? 'edges' : 'nodes', ...element });
          changed = true;
        }
      }
    });
    // What the page shows, for the browser test and anyone inspecting the DOM.
    this.container.dataset.nodes = nodes.map(n => `${n.data.id} ${n.data.role} ${n.data.online ? 'online' : 'offline'}`).join(';');
    this.container.dataset.edges = edges.map(e => `${e.data.kind} ${e.data.source} ${e.data.target}`).join(';');
    if (changed) {
      this.layout();
    }
  }

  layout(): void {
    this.cy.resize();
    this.cy.layout({ name: 'cose', animate: false, padding: 20, nodeDimensionsIncludeLabels: true }).run();
    this.cy.fit(undefined, 20);
  }

  dispose(): void {
    this.cy.destroy();
  }
}
