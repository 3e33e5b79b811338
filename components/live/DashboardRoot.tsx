'use client';
/** The layout's client island: the store provider and the page's one live connection around every route. */
import type { ReactNode } from 'react';
import { StoreProvider } from '../state/StoreProvider';
import { LiveConnection } from './LiveConnection';

export function DashboardRoot({ children }: { children: ReactNode }) {
  return (
    <StoreProvider>
      <LiveConnection />
      {children}
    </StoreProvider>
  );
}
