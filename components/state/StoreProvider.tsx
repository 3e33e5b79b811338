'use client';
/**
 * Creates the dashboard store once per client tree and hands it down by context; `useDashboardStore` is the one
 * bound hook components select through, `useDashboardStoreApi` gives the raw store for transient subscriptions.
 */
import { createContext, useContext, useState, type ReactNode } from 'react';
import { useStore } from 'zustand';
import { createDashboardStore, type DashboardState, type DashboardStore } from './store';

const StoreContext = createContext<DashboardStore | null>(null);

export function StoreProvider({ children }: { children: ReactNode }) {
  const [store] = useState(createDashboardStore);
  return <StoreContext.Provider value={store}>{children}</StoreContext.Provider>;
}

export function useDashboardStoreApi(): DashboardStore {
  const store = useContext(StoreContext);
  if (!store) throw new Error('useDashboardStoreApi: no StoreProvider above this component');
  return store;
}

export function useDashboardStore<T>(selector: (state: DashboardState) => T): T {
  return useStore(useDashboardStoreApi(), selector);
}
